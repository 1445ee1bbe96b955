/* Draws every chart of a dashboard page from its figure specs, and makes points links:
   a bar of a segment opens the segment, a customer's point opens the customer. */
(function () {
  "use strict";
  var holder = document.getElementById("mallseg-figures");
  if (!holder || !window.Plotly) { return; }
  var specs = JSON.parse(holder.textContent);
  var base = document.body.getAttribute("data-base") || "";
  var config = {displaylogo: false, responsive: true,
                modeBarButtonsToRemove: ["sendDataToCloud", "lasso2d", "select2d"]};
  function follow(event) {
    var point = event.points && event.points[0];
    var meta = point && point.data && point.data.meta;
    if (!meta || point.customdata === undefined) { return; }
    if (meta.link === "segment") {
      window.location.href = base + "/dashboard/segments/" + encodeURIComponent(point.customdata);
    } else if (meta.link === "customer") {
      window.location.href = base + "/dashboard/customers?customer_id=" +
        encodeURIComponent(point.customdata);
    }
  }
  document.querySelectorAll("[data-figure]").forEach(function (slot) {
    var spec = specs[slot.getAttribute("data-figure")];
    if (!spec) { return; }
    Plotly.newPlot(slot, spec.data, spec.layout, config).then(function () {
      slot.on("plotly_click", follow);
      slot.setAttribute("data-rendered", "true");
    });
  });
})();
