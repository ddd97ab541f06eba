// Live countdowns for approval expiry and delayed actions. Every element with
// data-deadline (an ISO timestamp) shows the time left; the server stays the authority,
// this only keeps the number honest between page loads.
(function () {
  function fmt(seconds) {
    if (seconds <= 0) return null;
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)), ss = String(s).padStart(2, "0");
    return (h ? h + ":" : "") + mm + ":" + ss;
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Math.floor((Date.parse(el.dataset.deadline) - now) / 1000);
      var text = fmt(left);
      el.textContent = text === null ? (el.dataset.done || "now") : text;
      el.classList.toggle("urgent", left < 300);
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 1000);
})();
