// Admin pages: <form data-confirm="Question?"> asks before submitting (no inline handlers under the CSP).
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
}, true);
