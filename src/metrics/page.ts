/**
 * The status page: one self-contained HTML document (no external assets,
 * nothing built at install). The data of the listing it was served with is
 * inside it, drawn by the page's script as soon as it loads; the script then
 * fetches status.json every few seconds and draws again. Everything from the
 * data goes in through textContent, never as markup.
 */
import type { StatusDocument } from './status.js';

export interface PageOptions {
  /** Shown in the title and the heading. Default "IPVS". */
  title?: string;
  /** Seconds between refreshes. Default 2. */
  refreshSeconds?: number;
}

/** JSON safe inside a <script> element (no "</script>", no "<!--"). */
function scriptJson(value: unknown): string {
  return (typeof value === 'string' ? value : JSON.stringify(value)).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page, with `doc` (or its JSON text) as its first data. */
export function renderPage(doc: StatusDocument | string, opts: PageOptions = {}): string {
  const title = escapeHtml(opts.title ?? 'IPVS');
  const config = { refreshMs: Math.max(500, Math.round((opts.refreshSeconds ?? 2) * 1000)) };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} status</title>
<style>${CSS}</style></head>
<body>
<header><h1>${title} status</h1><span id="meta"></span></header>
<div id="summary"></div>
<main id="services"></main>
<p id="empty" hidden>No virtual services.</p>
<script type="application/json" id="status-data">${scriptJson(doc)}</script>
<script type="application/json" id="status-config">${scriptJson(config)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}

const CSS = `
:root{--up:#2e9d4a;--down:#d93b3b;--drain:#e69a19;--unk:#8a8f98;--bg:#f5f6f8;--fg:#1d2330;--line:#d8dce3;--head:#2b3a55}
*{box-sizing:border-box}body{margin:0;font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.3em 1em;padding:.6em 1em;background:var(--head);color:#fff}
h1{font-size:1.2em;margin:0}#meta{opacity:.85;font-size:.9em}#meta.stale{color:#ffb4b4;opacity:1}
#summary{padding:.5em 1em;display:flex;flex-wrap:wrap;gap:.4em 1.4em}#summary b{font-variant-numeric:tabular-nums}
main{padding:0 .5em 1em}section{margin:.6em 0;background:#fff;border:1px solid var(--line);border-radius:6px;overflow:hidden}
section>h2{margin:0;padding:.45em .7em;font-size:1em;background:#e8ecf3;display:flex;flex-wrap:wrap;gap:.2em 1em;align-items:center}
h2 .sched{font-weight:normal;color:#556}.wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:.28em .55em;border-top:1px solid var(--line);text-align:right;white-space:nowrap}
th{font-weight:600;background:#f0f2f6;font-size:.92em}th:first-child,td:first-child{text-align:left}
tr.total td{font-weight:600;background:#fafbfc}
.st{display:inline-block;min-width:4.5em;text-align:center;border-radius:3px;padding:0 .35em;color:#fff;font-size:.9em}
.st.up{background:var(--up)}.st.down{background:var(--down)}.st.draining{background:var(--drain)}.st.unknown,.st.none{background:var(--unk)}
tr.down td{background:#fdecec}tr.draining td{background:#fff5e6}
svg.spark{width:90px;height:20px;vertical-align:middle}svg.spark polyline{fill:none;stroke-width:1.3}
.cps{stroke:#2b6cb0}.bin{stroke:#2e9d4a}.bout{stroke:#b7791f}
@media (max-width:700px){.wide{display:none}th,td{padding:.25em .35em}body{font-size:12px}}
`;

// The page's script: plain ES2017, no dependencies.
const SCRIPT = `
(function(){
'use strict';
var cfg=JSON.parse(document.getElementById('status-config').textContent);
var lastOk=Date.now();
function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!==undefined)e.textContent=text;return e}
function human(v,unit){v=Number(v);var u=['','k','M','G','T','P'],i=0;while(Math.abs(v)>=1000&&i<u.length-1){v/=1000;i++}
  return (i?v.toFixed(v<10?2:v<100?1:0):String(Math.round(v)))+' '+u[i]+unit}
function svcName(s){return s.fwmark!==undefined?'FWM '+s.fwmark+(s.family==='inet6'?' IPv6':''):s.protocol.toUpperCase()+' '+hp(s.address,s.port)}
function hp(a,p){return (a.indexOf(':')>=0?'['+a+']':a)+':'+p}
function spark(h){
  if(!h)return el('span');
  var ns='http://www.w3.org/2000/svg',svg=document.createElementNS(ns,'svg');svg.setAttribute('class','spark');svg.setAttribute('viewBox','0 0 90 20');
  var b=h.bytesIn.map(function(x,i){return x===null||h.bytesOut[i]===null?null:x+h.bytesOut[i]});
  [['cps',h.cps],['bin',h.bytesIn],['bout',h.bytesOut]].forEach(function(p){
    var vals=p[1],max=0;vals.forEach(function(x){if(x!==null&&x>max)max=x});
    var pts=[];vals.forEach(function(x,i){if(x!==null)pts.push((i*90/Math.max(1,vals.length-1)).toFixed(1)+','+(19-(max?x/max*18:0)).toFixed(1))});
    if(pts.length<2)return;var l=document.createElementNS(ns,'polyline');l.setAttribute('class',p[0]);l.setAttribute('points',pts.join(' '));svg.appendChild(l)});
  var t=document.createElementNS(ns,'title');t.textContent='last '+h.cps.length+' points: connections/s (blue), bytes/s in (green), out (brown)';svg.appendChild(t);
  return svg}
var COLS=[['Server',''],['Health',''],['Weight',''],['Active',''],['Inactive','wide'],['Persist','wide'],['Conns',''],['Conn/s',''],['In B/s',''],['Out B/s',''],['In pkts','wide'],['Out pkts','wide'],['In bytes','wide'],['Out bytes','wide'],['History','wide']];
function row(kind,id,name,health,weight,act,inact,pers,st,hist){
  var tr=el('tr',kind+(health?' '+health.state:''));tr.setAttribute('data-id',id);
  function td(k,text,cls,title){var c=el('td',cls||'',text);if(k)c.setAttribute('data-k',k);if(title)c.title=title;tr.appendChild(c);return c}
  td('name',name);
  var h=td('health','');h.appendChild(el('span','st '+(health?health.state:'none'),health?health.state:(kind==='total'?'':'no check')));
  if(health&&health.message)h.title=health.message;
  td('weight',weight);td('activeConnections',String(act));td('inactiveConnections',String(inact),'wide');td('persistentConnections',pers,'wide');
  td('connections',st.connections);
  td('cps',human(st.cps,'/s'),'',st.cps+' connections/s');
  td('bytesInPerSecond',human(st.bytesInPerSecond,'B/s'),'',st.bytesInPerSecond+' bytes/s');
  td('bytesOutPerSecond',human(st.bytesOutPerSecond,'B/s'),'',st.bytesOutPerSecond+' bytes/s');
  td('packetsIn',st.packetsIn,'wide');td('packetsOut',st.packetsOut,'wide');
  td('bytesIn',st.bytesIn,'wide',human(st.bytesIn,'B'));td('bytesOut',st.bytesOut,'wide',human(st.bytesOut,'B'));
  td('history','','wide').appendChild(spark(hist));
  return tr}
function draw(doc){
  var main=document.getElementById('services'),frag=document.createDocumentFragment();
  var up=0,down=0,other=0,cps=0,bin=0,bout=0,act=0;
  doc.services.forEach(function(s){
    var sec=el('section');sec.setAttribute('data-service',s.id);
    var h2=el('h2');h2.appendChild(el('span','',svcName(s)));h2.appendChild(el('span','sched',s.scheduler+(s.persistent!==undefined?' persistent '+s.persistent+' s':'')));sec.appendChild(h2);
    var wrap=el('div','wrap'),t=el('table'),hr=el('tr');COLS.forEach(function(c){hr.appendChild(el('th',c[1],c[0]))});t.appendChild(hr);
    s.destinations.forEach(function(d){
      var w=String(d.weight)+(d.configuredWeight!==undefined&&d.configuredWeight!==d.weight?' / '+d.configuredWeight:'');
      t.appendChild(row('dest',d.id,hp(d.address,d.port)+' '+d.forwarding,d.health,w,d.activeConnections,d.inactiveConnections,String(d.persistentConnections),d.stats,d.history));
      if(!d.health||d.health.state==='unknown')other++;else if(d.health.state==='up')up++;else down++;
    });
    t.appendChild(row('total',s.id,'Service total',undefined,'',s.activeConnections,s.inactiveConnections,'',s.stats,s.history));
    cps+=Number(s.stats.cps);bin+=Number(s.stats.bytesInPerSecond);bout+=Number(s.stats.bytesOutPerSecond);act+=s.activeConnections;
    wrap.appendChild(t);sec.appendChild(wrap);frag.appendChild(sec)});
  main.replaceChildren(frag);
  document.getElementById('empty').hidden=doc.services.length>0;
  var sum=document.getElementById('summary');sum.replaceChildren();
  function item(label,v){var s=el('span','',label+' ');s.appendChild(el('b','',v));sum.appendChild(s)}
  item('Services',String(doc.services.length));item('Real servers up',String(up));item('down/draining',String(down));item('unchecked',String(other));
  item('Active connections',String(act));item('Connections/s',human(cps,'/s'));item('In',human(bin,'B/s'));item('Out',human(bout,'B/s'));
  if(doc.reconcile){var r=doc.reconcile;item('Agent',(r.checkerAlive?'checker alive':'CHECKER STOPPED')+(r.lastError?', last reconcile failed: '+r.lastError:''));
    if(r.lastTimeMs)item('Last reconcile',new Date(r.lastTimeMs).toLocaleTimeString())}
  var meta=document.getElementById('meta');meta.textContent='as of '+new Date(doc.time).toLocaleTimeString()+(doc.listingSeconds!==undefined?' (listed in '+(doc.listingSeconds*1000).toFixed(0)+' ms)':'')+', refreshes every '+cfg.refreshMs/1000+' s';meta.className='';
}
function refresh(){
  var ctl=typeof AbortController==='function'?new AbortController():null,timer=setTimeout(function(){if(ctl)ctl.abort()},cfg.refreshMs*3);
  fetch('status.json',{cache:'no-store',signal:ctl?ctl.signal:undefined}).then(function(r){if(!r.ok)throw new Error('HTTP '+r.status);return r.json()})
  .then(function(doc){lastOk=Date.now();draw(doc)})
  .catch(function(e){var m=document.getElementById('meta');m.textContent='not updated for '+Math.round((Date.now()-lastOk)/1000)+' s: '+e.message;m.className='stale'})
  .then(function(){clearTimeout(timer);setTimeout(refresh,cfg.refreshMs)})}
draw(JSON.parse(document.getElementById('status-data').textContent));
setTimeout(refresh,cfg.refreshMs);
})();
`;
