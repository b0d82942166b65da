// Small progressive enhancements; every page also works without JavaScript.
// No inline handlers anywhere (the Content-Security-Policy allows scripts from files only):
// pages mark elements with data- attributes and these listeners, on the document, act on them,
// also in content htmx swaps in later.
(function () {
  "use strict";

  // <select data-autosubmit>: choosing an option submits its form.
  document.addEventListener("change", function (event) {
    var select = event.target.closest && event.target.closest("select[data-autosubmit]");
    if (select && select.form) {
      if (select.form.requestSubmit) select.form.requestSubmit();
      else select.form.submit();
    }
  });

  // <form data-confirm="Question?">: ask before submitting. "{role}" in the question stands for the
  // option chosen in the form's select (the members table); declining puts the select back.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (!question) return;
    var select = form.querySelector("select");
    if (select && select.selectedIndex >= 0) {
      question = question.replace("{role}", select.options[select.selectedIndex].text);
    }
    if (!window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      form.reset();
    }
  }, true);

  // <input data-select-on-click>: a click selects the whole value (tokens to copy).
  document.addEventListener("click", function (event) {
    var input = event.target.closest && event.target.closest("input[data-select-on-click]");
    if (input) input.select();
  });
})();
