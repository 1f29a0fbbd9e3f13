// A request written by hand on a raw socket, for tests of what the server answers before (or
// without) reading a body: fetch would send the whole body first.
import net from 'node:net';

/**
 * Writes `head` (and `body`, if given) and resolves with everything received once the text
 * contains `until`, the server closes, or `timeoutMs` passes.
 */
export function rawExchange(port: number, head: string, until: string, body?: Buffer, timeoutMs = 3000): Promise<string> {
  return new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(head);
      if (body) s.write(body);
    });
    let got = '';
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, timeoutMs);
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes(until)) done();
    });
    s.on('error', done);
    s.on('close', done);
  });
}
