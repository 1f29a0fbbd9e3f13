// Path router: a trie over path segments. Parameters are matched on the raw (still
// percent-encoded) segment and decoded afterwards, so an encoded "/" stays inside its parameter.
import { MatrixError, methodNotAllowed, unrecognized } from './errors.js';
import type { Handler, RouteOptions } from './types.js';

export interface Route {
  method: string;
  pattern: string;
  handler: Handler;
  options: RouteOptions;
}

interface Node {
  literal: Map<string, Node>;
  param?: { name: string; node: Node };
  routes?: Map<string, Route>;
}

const newNode = (): Node => ({ literal: new Map() });

export interface Match {
  route: Route;
  params: Record<string, string>;
}

export class Router {
  private readonly root = newNode();

  add(method: string, pattern: string, handler: Handler, options: RouteOptions = {}): this {
    let node = this.root;
    for (const seg of pattern.split('/').slice(1)) {
      const m = /^\{(\w+)\}$/.exec(seg);
      if (m) {
        if (node.param && node.param.name !== m[1]) {
          throw new Error(`route ${pattern}: parameter {${m[1]}} clashes with {${node.param.name}}`);
        }
        node.param ??= { name: m[1]!, node: newNode() };
        node = node.param.node;
      } else {
        let next = node.literal.get(seg);
        if (!next) node.literal.set(seg, (next = newNode()));
        node = next;
      }
    }
    node.routes ??= new Map();
    if (node.routes.has(method)) throw new Error(`route ${method} ${pattern} registered twice`);
    node.routes.set(method, { method, pattern, handler, options });
    return this;
  }

  /** Finds the route; throws 404/405 M_UNRECOGNIZED when there is none. */
  match(method: string, path: string): Match {
    const segs = path.split('/');
    const values: string[] = [];
    const node = this.walk(this.root, segs, 1, values);
    if (!node?.routes) throw unrecognized();
    const route = node.routes.get(method) ?? (method === 'HEAD' ? node.routes.get('GET') : undefined);
    if (!route) throw methodNotAllowed();
    const params: Record<string, string> = {};
    const names = paramNames(route.pattern);
    for (let i = 0; i < names.length; i++) {
      try {
        params[names[i]!] = decodeURIComponent(values[i]!);
      } catch {
        throw new MatrixError(400, 'M_INVALID_PARAM', `Path parameter ${names[i]} is not valid percent-encoding`);
      }
    }
    return { route, params };
  }

  /** True when some method is routed at this path (for OPTIONS). */
  has(path: string): boolean {
    return !!this.walk(this.root, path.split('/'), 1, [])?.routes;
  }

  // Literal segments win over parameters; backtrack when a literal branch dead-ends.
  private walk(node: Node, segs: string[], i: number, values: string[]): Node | undefined {
    if (i === segs.length) return node.routes ? node : undefined;
    const seg = segs[i]!;
    const lit = node.literal.get(seg);
    if (lit) {
      const found = this.walk(lit, segs, i + 1, values);
      if (found) return found;
    }
    if (node.param && seg !== '') {
      values.push(seg);
      const found = this.walk(node.param.node, segs, i + 1, values);
      if (found) return found;
      values.pop();
    }
    return undefined;
  }

  routes(): Route[] {
    const out: Route[] = [];
    const visit = (n: Node) => {
      if (n.routes) out.push(...n.routes.values());
      for (const c of n.literal.values()) visit(c);
      if (n.param) visit(n.param.node);
    };
    visit(this.root);
    return out;
  }
}

const namesCache = new Map<string, string[]>();
function paramNames(pattern: string): string[] {
  let names = namesCache.get(pattern);
  if (!names) {
    names = [...pattern.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    namesCache.set(pattern, names);
  }
  return names;
}
