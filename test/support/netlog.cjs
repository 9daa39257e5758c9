// Preload (NODE_OPTIONS=--require ./tools/netlog.cjs, NETLOG=<file>): records every outbound
// TCP connect, DNS lookup and undici/fetch request of this Node process as JSON lines.
const fs = require("node:fs");
const net = require("node:net");
const dns = require("node:dns");
const dc = require("node:diagnostics_channel");
const file = process.env.NETLOG;
const write = (rec) => { if (file) fs.appendFileSync(file, JSON.stringify({ pid: process.pid, ...rec }) + "\n"); };

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const o = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (o && typeof o === "object") write({ kind: "connect", host: o.host ?? o.path, port: o.port });
  else write({ kind: "connect", host: args[1], port: args[0] });
  return connect.apply(this, args);
};
const lookup = dns.lookup;
dns.lookup = function (host, ...rest) { write({ kind: "dns", host }); return lookup.call(this, host, ...rest); };
dc.subscribe("undici:request:create", ({ request }) => write({ kind: "http", method: request.method, origin: String(request.origin), path: request.path }));
