// The Insights panel: a chapter, an action item or a source seeks the player to its time (taken
// from the transcript's segments) and plays; the segment is scrolled into view. Delegated from the
// document, since htmx swaps the panel while a request runs.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const link = event.target.closest("#insights [data-seek-time]");
    if (!link) return;
    const player = document.getElementById("player");
    if (!player) return;
    event.preventDefault();
    player.currentTime = parseFloat(link.dataset.seekTime) || 0;
    const target = document.querySelector(link.getAttribute("href"));
    if (target) target.scrollIntoView({ block: "center", behavior: "smooth" });
    const playing = player.play();
    if (playing && playing.catch) playing.catch(function () { /* autoplay refused: the seek stands */ });
  });
})();
