# ruff: noqa: E501
"""The dashboard's page: plain HTML, CSS and JS in one string (no external resources), drawing the
snapshot JSON of adapters/http/dashboard.py. Numbers carry their raw value in `data-value`."""

PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trading-ai dashboard</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f5f6f8;color:#222}
header{background:#1f2937;color:#fff;padding:10px 16px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
header b{font-size:1.1em}.badge{padding:2px 8px;border-radius:4px;background:#374151;font-size:.9em}
.badge.live{background:#b91c1c}.badge.dryrun{background:#2563eb}.badge.demo{background:#6b7280}
.badge.on{background:#b91c1c}.badge.off{background:#047857}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:12px;padding:12px}
section.wide{grid-column:span 2}@media(max-width:800px){section.wide{grid-column:auto}}
section{background:#fff;border-radius:6px;padding:10px 14px;box-shadow:0 1px 2px #0002;overflow-x:auto}
h2{font-size:1em;margin:.2em 0 .6em;color:#374151}
table{border-collapse:collapse;width:100%;font-size:13px}
td,th{padding:3px 6px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
td.wrap{white-space:normal;text-align:left;min-width:220px}
td:first-child,th:first-child{text-align:left}
.bar{height:10px;background:#e5e7eb;border-radius:5px;overflow:hidden}.bar i{display:block;height:100%}
.pos{color:#047857}.neg{color:#b91c1c}.muted{color:#6b7280;font-size:12px}#error{color:#b91c1c}
</style></head><body>
<header><b>trading-ai</b><span id="mode" class="badge">-</span><span>model <span id="model">-</span></span>
<span>last cycle <span id="last-cycle">-</span></span><span>kill switch <span id="kill-switch" class="badge">-</span></span>
<span id="halted"></span><span class="muted" id="updated">connecting...</span><span id="error"></span></header>
<main>
<section><h2>FTMO floors and headroom</h2><table>
<tr><td>balance</td><td id="balance">-</td></tr><tr><td>equity</td><td id="equity">-</td></tr>
<tr><td>daily loss floor</td><td id="daily-floor">-</td></tr><tr><td>daily headroom</td><td id="daily-headroom">-</td></tr>
<tr><td>total loss floor</td><td id="total-floor">-</td></tr><tr><td>total headroom</td><td id="total-headroom">-</td></tr>
<tr><td>profit / target</td><td id="profit">-</td></tr><tr><td>trading days</td><td id="trading-days">-</td></tr>
</table><p class="muted">today's loss allowance left (headroom to the binding floor)</p><div class="bar"><i id="headroom-bar"></i></div></section>
<section><h2>Equity (this page's samples)</h2><svg id="spark" width="100%" height="120" viewBox="0 0 300 120"
preserveAspectRatio="none"></svg><p class="muted" id="spark-note"></p></section>
<section class="wide"><h2>Open positions (<span id="n-positions">0</span>)</h2><table id="positions"><thead><tr><th>pair</th>
<th>dir</th><th>volume</th><th>entry</th><th>price</th><th>SL</th><th>TP</th><th>P&amp;L</th></tr></thead>
<tbody></tbody></table></section>
<section class="wide"><h2>Last signals</h2><table id="signals"><thead><tr><th>UTC</th><th>pair</th><th>dir</th><th>tier</th>
<th>conf</th><th>entry</th><th>SL</th><th>TP</th></tr></thead><tbody></tbody></table></section>
<section class="wide"><h2>Last blocks</h2><table id="blocks"><thead><tr><th>UTC</th><th>pair</th><th>reason</th><th>detail</th>
</tr></thead><tbody></tbody></table></section>
</main>
<script>
(function(){
  var token=new URLSearchParams(location.search).get('token')||'';
  var q='?token='+encodeURIComponent(token), history=[];
  function money(v){return v==null?'-':Number(v).toLocaleString('en-US',{minimumFractionDigits:2,maximumFractionDigits:2});}
  function utc(ms){if(ms==null)return '-';var d=new Date(ms);return d.toISOString().slice(0,16).replace('T',' ');}
  function px(v){return v==null?'-':String(Number(Number(v).toPrecision(7)));}
  function setNum(id,v,text){var e=document.getElementById(id);e.dataset.value=v==null?'':String(v);
    e.textContent=text!==undefined?text:money(v);}
  function setText(id,t){document.getElementById(id).textContent=t;}
  function cell(tr,t,cls){var td=document.createElement('td');td.textContent=t;if(cls)td.className=cls;tr.appendChild(td);}
  function rows(id,items,fn){var b=document.querySelector('#'+id+' tbody');b.textContent='';
    items.forEach(function(x){var tr=document.createElement('tr');fn(tr,x);b.appendChild(tr);});}
  function spark(){var s=document.getElementById('spark');if(history.length<2){s.innerHTML='';return;}
    var lo=Math.min.apply(null,history),hi=Math.max.apply(null,history),top=hi==lo?lo+1:hi;
    var pts=history.map(function(v,i){return (i/(history.length-1)*300).toFixed(1)+','+(115-(v-lo)/(top-lo)*110).toFixed(1);});
    s.innerHTML='<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="'+pts.join(' ')+'"/>';
    setText('spark-note','min '+money(lo)+'  max '+money(hi)+'  ('+history.length+' samples)');}
  function draw(s){
    if(s.error){setText('error',s.error);return;} setText('error','');
    var m=document.getElementById('mode');m.textContent=s.mode;m.className='badge '+s.mode;
    setText('model',s.model||'-'); setText('last-cycle',utc(s.last_cycle_ms)+' UTC ('+s.cycles+' cycles)');
    var k=document.getElementById('kill-switch');k.textContent=s.kill_switch?'ON':'off';k.className='badge '+(s.kill_switch?'on':'off');
    setText('halted',s.halted?('HALTED: '+s.halt_reason):'');
    var f=s.ftmo||{};
    setNum('balance',f.balance);setNum('equity',f.equity);setNum('daily-floor',f.daily_floor);
    setNum('total-floor',f.total_floor);setNum('daily-headroom',f.daily_headroom);setNum('total-headroom',f.total_headroom);
    setNum('profit',f.profit,money(f.profit)+' / '+money(f.profit_target));
    setNum('trading-days',f.trading_days,f.trading_days+' / '+f.min_trading_days);
    var allowance=f.day_start_balance-f.daily_floor, bar=document.getElementById('headroom-bar');
    var pct=allowance>0?Math.max(0,Math.min(100,100*Math.min(f.daily_headroom,f.total_headroom)/allowance)):0;
    bar.style.width=pct.toFixed(1)+'%';bar.style.background=pct<25?'#b91c1c':(pct<50?'#d97706':'#047857');
    if(f.equity!=null){history.push(f.equity);if(history.length>300)history.shift();spark();}
    setText('n-positions',String((s.positions||[]).length));
    rows('positions',s.positions||[],function(tr,p){cell(tr,p.pair);cell(tr,p.direction);cell(tr,String(p.volume));
      cell(tr,px(p.entry));cell(tr,px(p.price));cell(tr,px(p.sl));cell(tr,px(p.tp));
      cell(tr,money(p.pnl),p.pnl>0?'pos':(p.pnl<0?'neg':''));});
    rows('signals',s.signals||[],function(tr,x){cell(tr,utc(x.at_ms));cell(tr,x.pair);cell(tr,x.direction);cell(tr,x.tier);
      cell(tr,Number(x.confidence).toFixed(3));cell(tr,px(x.entry));cell(tr,px(x.sl));cell(tr,px(x.tp));});
    rows('blocks',s.blocks||[],function(tr,x){cell(tr,utc(x.at_ms));cell(tr,x.pair);cell(tr,x.reason);cell(tr,x.detail||'','wrap');});
    setText('updated','updated '+utc(s.now_ms)+' UTC');
    document.body.dataset.snapshots=String((Number(document.body.dataset.snapshots)||0)+1);
  }
  function poll(){fetch('/api/snapshot'+q,{cache:'no-store'}).then(function(r){return r.json();}).then(draw)
    .catch(function(e){setText('error','dashboard unreachable');}).finally(function(){setTimeout(poll,3000);});}
  if(window.EventSource){var es=new EventSource('/api/events'+q);
    es.addEventListener('snapshot',function(ev){draw(JSON.parse(ev.data));});
    es.onerror=function(){es.close();setText('updated','stream lost; polling');poll();};}
  else{poll();}
})();
</script></body></html>
"""
