// The header menu is a <details>: on phones a "Menu" button, on wide screens a row of links.
// Wide screens keep it open (for browsers that cannot show a closed <details>' content with CSS);
// on phones a click outside, or Escape, closes it.
(function () {
  "use strict";

  var wide = window.matchMedia("(min-width: 768px)");

  function fit(menu) {
    if (wide.matches) menu.setAttribute("open", "");
    else menu.removeAttribute("open");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var menu = document.querySelector("details[data-nav-menu]");
    if (!menu) return;
    fit(menu);
    wide.addEventListener("change", function () { fit(menu); });
    document.addEventListener("click", function (event) {
      if (!wide.matches && menu.open && !menu.contains(event.target)) menu.removeAttribute("open");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !wide.matches && menu.open) {
        menu.removeAttribute("open");
        menu.querySelector("summary").focus();
      }
    });
  });
})();
