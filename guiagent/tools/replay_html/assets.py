"""The report page's inline style and script: system fonts, no external file, nothing fetched.

Predicted actions are orange, recorded ones green, the heatmap blue (dark where the cache evicted a patch,
clear where every layer and head holds it), so the three never read as one another.
"""

STYLE = """
:root{--pred:#ff9f1c;--exp:#3ddc84;--ink:#1d2433;--muted:#667085;--line:#e4e7ec}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:#f5f6f8}
header{background:#111827;color:#e5e7eb;padding:12px 20px}
header h1{font-size:18px;margin:0 0 6px}
header dl{display:flex;flex-wrap:wrap;gap:2px 18px;margin:0}
header dl div{display:flex;gap:6px}
dt{color:#9ca3af}
dd{margin:0;font-weight:600}
.tools{display:flex;align-items:center;gap:16px;margin-top:8px;flex-wrap:wrap}
.toggle{cursor:pointer;font-weight:600}
.toggle.predicted{color:var(--pred)}
.toggle.expected{color:var(--exp)}
.ramp{display:inline-block;width:120px;height:10px;border-radius:3px;
  background:linear-gradient(90deg,rgb(8,12,40),rgb(40,90,200),rgb(205,235,255))}
.tools small{color:#9ca3af;margin-left:-10px}
.layout{display:grid;grid-template-columns:140px minmax(0,1fr)}
nav{background:#fff;border-right:1px solid var(--line);padding:10px;position:sticky;top:0;align-self:start;
  max-height:100vh;overflow:auto}
nav ol{list-style:none;margin:0;padding:0}
nav a{display:flex;justify-content:space-between;align-items:center;padding:4px 8px;border-radius:6px;
  color:inherit;text-decoration:none}
nav a.on{background:#111827;color:#fff}
.keys{color:var(--muted);font-size:12px}
main{padding:14px 20px;min-width:0}
.step h2{font-size:17px;margin:0 0 10px}
.step h2 small{color:var(--muted);font-weight:400}
.score{font-size:12px;padding:1px 7px;border-radius:9px;background:#fee4e2;color:#b42318}
.score.s1{background:#fef0c7;color:#b54708}
.score.s2{background:#d1fadf;color:#067647}
.body{display:grid;grid-template-columns:minmax(0,3fr) minmax(260px,1.25fr);gap:16px;align-items:start}
figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:8px;padding:6px}
figure svg{display:block;width:100%;height:auto}
figcaption{color:var(--muted);font-size:12px;margin-top:4px}
.heatmap{image-rendering:pixelated}
.older h3{font-size:14px;margin:16px 0 8px}
.held-list{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:10px}
.facts{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 12px;min-width:0}
.facts h3{font-size:13px;margin:10px 0 4px}
.facts h3:first-child{margin-top:0}
pre{white-space:pre-wrap;word-break:break-word;background:#f8fafc;border-radius:6px;padding:6px 8px;margin:0;
  font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;max-height:200px;overflow:auto}
.actions{margin:0 0 4px;padding-left:18px;font-size:13px}
details summary{color:var(--muted);font-size:12px;cursor:pointer}
.thought{font-style:italic;margin:0 0 8px}
.errors{color:#b42318;font-size:12px;padding-left:18px;margin:4px 0}
table{border-collapse:collapse;margin-top:10px;font-size:12px}
th{text-align:left;color:var(--muted);padding:2px 10px 2px 0;font-weight:500;vertical-align:top}
.predicted-text{color:#c2410c}
.expected-text{color:#15803d}
.overlay circle{fill-opacity:.35}
.overlay line{stroke-linecap:round}
.predicted circle,.predicted line{stroke:var(--pred);fill:var(--pred)}
.expected circle,.expected line{stroke:var(--exp);fill:var(--exp)}
.overlay circle.move{fill-opacity:0}
.overlay text{paint-order:stroke;stroke:#000;stroke-width:.22em;font-weight:700;stroke-linejoin:round}
.predicted text{fill:var(--pred)}
.expected text{fill:var(--exp)}
.box{fill:none;stroke:var(--exp)}
.overlay .backdrop{fill:#000;fill-opacity:.6;stroke:none}
.predicted .box{stroke:var(--pred)}
.predicted-fill{fill:var(--pred)}
.expected-fill{fill:var(--exp)}
.defs{position:absolute}
.missing p{color:var(--muted);padding:40px;text-align:center}
body.hide-heatmap .heatmap,body.hide-predicted .overlay.predicted,body.hide-expected .overlay.expected{display:none}
@media (max-width:900px){.body,.layout{grid-template-columns:minmax(0,1fr)}nav{position:static;max-height:none}}
"""

SCRIPT = r"""
(() => {
  const steps = [...document.querySelectorAll("section.step")];
  const links = [...document.querySelectorAll("#steps a")];
  let current = 0;
  const show = (i) => {
    current = Math.max(0, Math.min(steps.length - 1, i));
    steps.forEach((s, k) => { s.hidden = k !== current; });
    links.forEach((a, k) => a.classList.toggle("on", k === current));
  };
  links.forEach((a, k) => a.addEventListener("click", (e) => { e.preventDefault(); show(k); }));
  document.addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight" || e.key === "j") show(current + 1);
    if (e.key === "ArrowLeft" || e.key === "k") show(current - 1);
  });
  for (const box of document.querySelectorAll("[data-toggle]")) {
    box.addEventListener("change", () => document.body.classList.toggle("hide-" + box.dataset.toggle, !box.checked));
  }
  show(Number((location.hash.match(/^#step-(\d+)$/) || [0, 0])[1]));  // report.html#step-3: the fourth step
})();
"""
