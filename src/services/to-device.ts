// Send-to-device messaging: stores each message for its target device until a sync shows the
// device has received it (the next sync from that response's token), and delivers pending
// messages in /sync, at most MAX_PER_SYNC at a time.
import { MatrixError } from '../http/errors.js';
import { isValidUserId, serverNameOf } from '../events/identifiers.js';
import { ToDeviceStore, type ToDeviceTarget } from '../storage/to-device.js';
import type { ServerContext } from './context.js';
import type { SyncContributor, SyncRequestContext, SyncResponse } from './sync/types.js';
import { checkEventType, isJsonObject } from './account-data.js';
import { withPositions } from './change-log.js';
import { DeviceMap } from '../util/device-map.js';

/** The spec's recommended limit of messages in one sync response. */
export const MAX_PER_SYNC = 100;
const TXN_RETENTION_MS = 24 * 3600_000;

interface DeviceState {
  /** Bumped by every insert for the device. */
  version: number;
  /** True when the device is known to have no stored message. */
  empty: boolean;
}

export class ToDeviceService {
  readonly store: ToDeviceStore;
  private readonly devices = new DeviceMap<DeviceState>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly ctx: Pick<ServerContext, 'sql' | 'streams' | 'notifier' | 'config' | 'log'>) {
    this.store = new ToDeviceStore(ctx.sql);
    this.timer = setInterval(() => {
      this.store.pruneTxns(Date.now() - TXN_RETENTION_MS).catch((e: unknown) => ctx.log.warn({ err: e }, 'could not prune to-device transaction ids'));
    }, 3600_000);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** PUT /sendToDevice/{eventType}/{txnId}. */
  async send(sender: { userId: string; deviceId: string }, type: string, txnId: string, body: unknown): Promise<void> {
    checkEventType(type);
    if (!isJsonObject(body) || !isJsonObject(body.messages)) throw new MatrixError(400, 'M_BAD_JSON', 'messages must be an object');
    const local: Array<{ userId: string; all: unknown; devices: Map<string, string> }> = [];
    for (const [userId, perDevice] of Object.entries(body.messages)) {
      if (!isValidUserId(userId)) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid user id ${JSON.stringify(userId.slice(0, 300))}`);
      if (!isJsonObject(perDevice)) throw new MatrixError(400, 'M_BAD_JSON', `messages.${userId} must be an object`);
      const devices = new Map<string, string>();
      let all: unknown;
      for (const [deviceId, content] of Object.entries(perDevice)) {
        if (!isJsonObject(content)) throw new MatrixError(400, 'M_BAD_JSON', `The message for ${userId} ${deviceId} must be an object`);
        if (deviceId === '*') all = content;
        else devices.set(deviceId, JSON.stringify(content));
      }
      // Remote users need federation (not built yet): their messages are dropped.
      if (serverNameOf(userId) === this.ctx.config.server_name) local.push({ userId, all, devices });
    }

    const notified = await withPositions(
      this.ctx,
      async (tx, alloc) => {
        if (!(await this.store.claimTxn(tx, sender.userId, sender.deviceId, txnId, Date.now()))) return [];
        const targets: ToDeviceTarget[] = [];
        for (const u of local) {
          // One message per device: an explicit device id wins over '*'.
          const wanted = u.all !== undefined ? null : [...u.devices.keys()];
          const existing = await this.store.existingDevices(tx, u.userId, wanted);
          const allText = u.all !== undefined ? JSON.stringify(u.all) : undefined;
          for (const d of existing) {
            const content = u.devices.get(d) ?? allText;
            if (content !== undefined) targets.push({ userId: u.userId, deviceId: d, content });
          }
        }
        if (targets.length === 0) return [];
        const [pos] = await alloc();
        await this.store.insert(tx, pos!, sender.userId, type, targets);
        return targets;
      },
      (targets) => {
        for (const t of targets) {
          const st = this.devices.get(t.userId, t.deviceId);
          if (st) {
            st.version++;
            st.empty = false;
          }
        }
      },
    );
    if (notified.length) this.ctx.notifier.notifyUsers(new Set(notified.map((t) => t.userId)));
  }

  /** Drops the messages of deleted devices. */
  async devicesRemoved(userId: string, deviceIds: readonly string[]): Promise<void> {
    await this.store.deleteDevices(userId, deviceIds);
    for (const d of deviceIds) this.devices.delete(userId, d);
  }

  readonly contributor: SyncContributor = {
    name: 'to_device',
    contribute: (req, res) => this.contribute(req, res),
  };

  private async contribute(req: SyncRequestContext, res: SyncResponse): Promise<void> {
    let st = this.devices.get(req.userId, req.deviceId);
    if (st?.empty) return;
    if (!st) this.devices.set(req.userId, req.deviceId, (st = { version: 0, empty: false }));
    const version = st.version;
    // A sync from a token acknowledges what the response that made the token delivered.
    if (req.since) await this.store.acknowledge(req.userId, req.deviceId, req.since.stream);
    const msgs = await this.store.pending(req.userId, req.deviceId, req.upto.stream, MAX_PER_SYNC + 1);
    if (msgs.length === 0) {
      if (st.version === version) st.empty = true;
      return;
    }
    const sent = msgs.slice(0, MAX_PER_SYNC);
    // The next sync from this response's token deletes only what the response holds (all
    // messages up to `upto` unless it was cut at MAX_PER_SYNC).
    const deliveredUpto = msgs.length > MAX_PER_SYNC ? sent[sent.length - 1]!.pos : req.upto.stream;
    await this.store.recordDelivery(req.userId, req.deviceId, req.upto.stream, deliveredUpto);
    for (const m of sent) res.to_device.events.push({ sender: m.sender, type: m.type, content: JSON.parse(m.content) as unknown });
  }
}
