// Repository for to-device messages waiting for their device, the transaction ids senders have
// used, and where a limited sync response stopped.
import type { Sql } from './pool.js';

export interface ToDeviceMessage {
  pos: number;
  sender: string;
  type: string;
  /** JSON text. */
  content: string;
}

export interface ToDeviceTarget {
  userId: string;
  deviceId: string;
  content: string;
}

export class ToDeviceStore {
  constructor(private readonly sql: Sql) {}

  /** False when the sender's device already used `txnId`. */
  async claimTxn(sql: Sql, userId: string, deviceId: string, txnId: string, now: number): Promise<boolean> {
    const rows = await sql`
      INSERT INTO to_device_txns (user_id, device_id, txn_id, created_ts) VALUES (${userId}, ${deviceId}, ${txnId}, ${now})
      ON CONFLICT DO NOTHING RETURNING 1`;
    return rows.length === 1;
  }

  async pruneTxns(olderThan: number): Promise<void> {
    await this.sql`DELETE FROM to_device_txns WHERE created_ts < ${olderThan}`;
  }

  /** Of `deviceIds` (null: all), the devices `userId` has. */
  async existingDevices(sql: Sql, userId: string, deviceIds: string[] | null): Promise<string[]> {
    const rows =
      deviceIds === null
        ? await sql`SELECT device_id FROM devices WHERE user_id = ${userId}`
        : await sql`SELECT device_id FROM devices WHERE user_id = ${userId} AND device_id = ANY(${deviceIds})`;
    return rows.map((r) => r.device_id as string);
  }

  async insert(sql: Sql, pos: number, sender: string, type: string, targets: ToDeviceTarget[]): Promise<void> {
    if (targets.length === 0) return;
    const rows = targets.map((t) => ({ user_id: t.userId, device_id: t.deviceId, stream_pos: pos, sender, type, content: t.content }));
    for (let i = 0; i < rows.length; i += 1000) {
      await sql`INSERT INTO to_device_messages ${sql(rows.slice(i, i + 1000))} ON CONFLICT DO NOTHING`;
    }
  }

  /** Deletes what the response at `sincePos` delivered and returns the bound used. */
  async acknowledge(userId: string, deviceId: string, sincePos: number): Promise<void> {
    await this.sql.begin(async (tx) => {
      const [d] = await tx`
        SELECT delivered_upto FROM to_device_deliveries
        WHERE user_id = ${userId} AND device_id = ${deviceId} AND response_pos = ${sincePos}`;
      const bound = d ? Number(d.delivered_upto) : sincePos;
      await tx`DELETE FROM to_device_messages WHERE user_id = ${userId} AND device_id = ${deviceId} AND stream_pos <= ${bound}`;
      await tx`DELETE FROM to_device_deliveries WHERE user_id = ${userId} AND device_id = ${deviceId} AND response_pos < ${sincePos}`;
    });
  }

  /** Up to `limit` messages with after < pos <= upto, oldest first. */
  async pending(userId: string, deviceId: string, upto: number, limit: number): Promise<ToDeviceMessage[]> {
    const rows = await this.sql`
      SELECT stream_pos, sender, type, content FROM to_device_messages
      WHERE user_id = ${userId} AND device_id = ${deviceId} AND stream_pos <= ${upto}
      ORDER BY stream_pos LIMIT ${limit}`;
    return rows.map((r) => ({ pos: Number(r.stream_pos), sender: r.sender as string, type: r.type as string, content: r.content as string }));
  }

  async recordDelivery(userId: string, deviceId: string, responsePos: number, deliveredUpto: number): Promise<void> {
    await this.sql`
      INSERT INTO to_device_deliveries (user_id, device_id, response_pos, delivered_upto)
      VALUES (${userId}, ${deviceId}, ${responsePos}, ${deliveredUpto})
      ON CONFLICT (user_id, device_id, response_pos) DO UPDATE SET delivered_upto = EXCLUDED.delivered_upto`;
  }

  async deleteDevices(userId: string, deviceIds: readonly string[]): Promise<void> {
    const ids = [...deviceIds];
    await this.sql`DELETE FROM to_device_messages WHERE user_id = ${userId} AND device_id = ANY(${ids})`;
    await this.sql`DELETE FROM to_device_deliveries WHERE user_id = ${userId} AND device_id = ANY(${ids})`;
  }
}
