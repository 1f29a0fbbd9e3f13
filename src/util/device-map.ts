// A map keyed by (user id, device id). A joined key string (`${user}\n${device}`) is a new
// string on every lookup, hashed each time; the ids a request carries are the same string
// objects from one request to the next (the token cache's), with their hashes kept, so two
// nested lookups cost less. Sync contributors look a device up on every woken sync.
export class DeviceMap<V> {
  private readonly users = new Map<string, Map<string, V>>();
  private n = 0;

  get(userId: string, deviceId: string): V | undefined {
    return this.users.get(userId)?.get(deviceId);
  }

  set(userId: string, deviceId: string, value: V): void {
    let m = this.users.get(userId);
    if (!m) this.users.set(userId, (m = new Map()));
    if (!m.has(deviceId)) this.n++;
    m.set(deviceId, value);
  }

  delete(userId: string, deviceId: string): void {
    const m = this.users.get(userId);
    if (!m?.delete(deviceId)) return;
    this.n--;
    if (m.size === 0) this.users.delete(userId);
  }

  get size(): number {
    return this.n;
  }

  clear(): void {
    this.users.clear();
    this.n = 0;
  }
}
