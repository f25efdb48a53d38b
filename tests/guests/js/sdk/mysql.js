// A JavaScript app on the JS SDK's MySQL package (@spinframework/spin-mysql,
// fermyon:spin/mysql@2.0.0), bundled by esbuild as Spin's JS templates do.
//   GET  /myjs?addr=A&sql=S[&p=V...]  query S with text parameters V: 200 JSON
//                                     {"columns":[names],"rows":[{..}]}
//   POST /myjs?addr=A&sql=S[&p=V...]  execute S: 200 "executed"
// A failure the SDK throws answers 500 with its error value as JSON.
import { open } from '@spinframework/spin-mysql';

function json(v) {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Array.from(x) : x));
}

async function handle(req) {
  const url = new URL(req.url);
  const addr = url.searchParams.get('addr');
  const sql = url.searchParams.get('sql');
  if (!addr || !sql) return new Response('want ?addr=&sql=\n', { status: 400 });
  const params = url.searchParams.getAll('p');
  try {
    const conn = open(addr);
    if (req.method === 'POST') {
      conn.execute(sql, params);
      return new Response('executed');
    }
    const rs = conn.query(sql, params);
    return new Response(json({ columns: rs.columns.map((c) => c.name), rows: rs.rows }),
      { headers: { 'content-type': 'application/json' } });
  } catch (e) {
    const v = e && e.payload !== undefined ? e.payload : e;
    return new Response(json({ error: v && v.tag ? v : String(e) }), { status: 500 });
  }
}

addEventListener('fetch', (e) => e.respondWith(handle(e.request)));
