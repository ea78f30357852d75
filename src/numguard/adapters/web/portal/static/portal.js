// Progressive help on every page: when a form comes back with errors, move the keyboard and
// screen-reader focus to the summary, whose links lead to each field.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
