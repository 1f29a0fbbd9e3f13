// A bounded cache with least-recently-used-ish eviction, cheap on the hot path: two generations
// of Maps. Reads hit `young` with one Map lookup (no reordering, unlike a strict LRU that deletes
// and re-inserts on every hit); a hit in `old` promotes the entry. When `young` fills half the
// capacity, it becomes `old` and the previous `old` is dropped whole: entries not touched for a
// whole generation go, which is what an LRU would evict anyway, give or take.
export class Lru<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;

  constructor(max: number) {
    this.half = Math.max(1, Math.floor(max / 2));
  }

  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) {
      this.old.delete(key);
      this.insert(key, o);
    }
    return o;
  }

  set(key: K, value: V): void {
    this.old.delete(key);
    this.insert(key, value);
  }

  delete(key: K): void {
    this.young.delete(key);
    this.old.delete(key);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  private insert(key: K, value: V): void {
    this.young.set(key, value);
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
  }
}
