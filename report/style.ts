/** The report's stylesheet (inline: the file stays self-contained). */
export const CSS = `
body{font:14px/1.45 Helvetica,Arial,sans-serif;color:#111;margin:0;background:#fafafa}
header,main,footer{max-width:1320px;margin:0 auto;padding:0 20px}
header{padding-top:14px}header p{margin:4px 0}
h1{margin:0 0 2px;font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:3px;margin:10px 0 8px}
h3{font-size:16px;margin:0 0 6px}
section{margin:14px 0}
section.stage{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;margin:12px 0}
.dim{color:#666}.error{color:#b91c1c}.kind{font-weight:normal;color:#555;font-size:12px;border:1px solid #ccc;border-radius:3px;padding:0 4px}
.badge{display:inline-block;border:1px solid;border-radius:10px;padding:0 8px;font-size:12px;font-weight:normal}
.overview{display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap;margin-top:8px}
.dagbox{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:4px;max-width:100%;overflow:auto}
.dag a:hover rect{stroke-width:3}
#pipeline summary h2{display:inline;border:none}
details>summary{cursor:pointer}
table{border-collapse:collapse;font-size:13px}
table.grid th,table.grid td{border-bottom:1px solid #e5e7eb;padding:2px 8px;text-align:left;vertical-align:top}
table.grid thead th{background:#f3f4f6;white-space:nowrap}
table.grid td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv{margin:2px 16px 6px 0;display:inline-table;vertical-align:top}
table.kv caption{text-align:left;font-weight:bold;font-size:12px;color:#333}
table.kv th{font-weight:normal;color:#444;text-align:left;padding:1px 12px 1px 0;font-family:monospace;font-size:12px}
table.kv td{padding:1px 0;font-family:monospace;font-size:12px}
table.headline td.values .fig{display:inline-block;margin-right:14px;white-space:nowrap}
table.headline td.values b{font-size:14px}
.formula{font-family:Georgia,serif;font-style:italic}
.tone-good{color:#15803d}.tone-warn{color:#b45309;font-weight:bold}.tone-bad{color:#b91c1c;font-weight:bold}
td.up{color:#15803d}td.down{color:#b91c1c}
table.stages{flex:1;min-width:480px}
.blocks{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start;margin:8px 0}
figure.block{margin:0;max-width:100%}
figure.block .title{font-weight:bold;font-size:13px;margin:0 0 3px}
figure.block.drawn{background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:6px;width:min-content}
figcaption.note{font-size:12px;color:#555;margin-top:3px}
details.block{flex-basis:100%;margin:2px 0}
.scroll{max-width:100%;overflow-x:auto}
svg.plot{display:block}
code{font-size:12px}
ul.notes{color:#555;margin:4px 0}
footer{padding:20px}
`;
