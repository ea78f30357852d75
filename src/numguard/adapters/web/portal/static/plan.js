// Progressive help for the cancellation checklist: remembers ticks on this device, shows the
// progress, and offers a print button. Without JavaScript the list still ticks, prints and
// downloads (the CSV carries the ticks).
(function () {
  "use strict";
  var form = document.getElementById("plan");
  if (!form) { return; }
  var boxes = form.querySelectorAll('input[type="checkbox"][name="done"]');
  var progress = document.getElementById("progress");
  var key = "numguard-plan:" + (form.getAttribute("data-plan") || "");
  var saved = {};
  try { saved = JSON.parse(localStorage.getItem(key) || "{}"); } catch (e) { saved = {}; }

  function update() {
    var done = 0;
    var state = {};
    boxes.forEach(function (box) {
      box.closest("li").classList.toggle("done", box.checked);
      if (box.checked) { done += 1; state[box.value] = true; }
    });
    progress.textContent = progress.getAttribute("data-template")
      .replace("{done}", String(done)).replace("{total}", String(boxes.length));
    progress.hidden = false;
    try { localStorage.setItem(key, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }

  boxes.forEach(function (box) {
    if (saved[box.value]) { box.checked = true; }
    box.addEventListener("change", update);
  });
  var print = document.getElementById("print");
  print.hidden = false;
  print.addEventListener("click", function () { window.print(); });
  update();
})();
