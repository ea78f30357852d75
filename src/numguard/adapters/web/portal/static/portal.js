// Progressive help on every page: when a form comes back with errors, move the keyboard and
// screen-reader focus to the summary, whose links lead to each field.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  // A tracking link carries its token in the fragment, which never reaches the server or its
  // logs: fill the form with it and send it (POST). Without JavaScript the token is typed.
  var track = document.getElementById("track-form");
  var token = /^#(trk_[A-Za-z0-9_-]{43})$/.exec(window.location.hash);
  var field = track && track.querySelector('input[name="token"]');
  if (field && token && !field.value && !summary) {
    field.value = token[1];
    track.submit();
  }

  // Print buttons (hidden without JavaScript: the browser's own print works anyway).
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
