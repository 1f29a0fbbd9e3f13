import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getRoomVersion, SUPPORTED_ROOM_VERSIONS, DEFAULT_ROOM_VERSION } from '../../src/events/room-versions.js';

test('versions 1–12 are supported, and nothing else', () => {
  assert.deepEqual(SUPPORTED_ROOM_VERSIONS, ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12']);
  assert.equal(getRoomVersion('13'), undefined);
  assert.equal(getRoomVersion('1.0'), undefined);
  assert.equal(getRoomVersion('org.example.custom'), undefined);
  assert.ok(getRoomVersion(DEFAULT_ROOM_VERSION));
});

// Each property against the version range the spec's feature list gives it.
const ranges: Array<[keyof NonNullable<ReturnType<typeof getRoomVersion>>, (v: number) => unknown]> = [
  ['eventIdFormat', (v) => (v <= 2 ? 'v1' : v === 3 ? 'v3' : 'v4')],
  ['eventIdInEvent', (v) => v <= 2],
  ['eventIdServerSigns', (v) => v <= 2],
  ['stateResolution', (v) => (v === 1 ? 'v1' : v <= 11 ? 'v2' : 'v2.1')],
  ['strictCanonicalJson', (v) => v >= 6],
  ['redaction', (v) => (v <= 5 ? 'v1' : v <= 7 ? 'v6' : v === 8 ? 'v8' : v <= 10 ? 'v9' : 'v11')],
  ['roomIdFormat', (v) => (v >= 12 ? 'create-event' : 'server')],
  ['enforceKeyValidity', (v) => v >= 5],
  ['specialCaseAliasesAuth', (v) => v <= 5],
  ['redactionAuthRule', (v) => v <= 2],
  ['notificationsPowerLevels', (v) => v >= 6],
  ['knocking', (v) => v >= 7],
  ['restrictedJoinRule', (v) => v >= 8],
  ['knockRestrictedJoinRule', (v) => v >= 10],
  ['integerOnlyPowerLevels', (v) => v >= 10],
  ['floatPowerLevels', (v) => v <= 5],
  ['creatorInContent', (v) => v <= 10],
  ['privilegedCreators', (v) => v >= 12],
  ['createEventInAuthEvents', (v) => v <= 11],
  ['redactsInContent', (v) => v >= 11],
];

for (const [prop, expected] of ranges) {
  test(`room version property ${prop}`, () => {
    for (const id of SUPPORTED_ROOM_VERSIONS) {
      assert.equal(getRoomVersion(id)![prop], expected(Number(id)), `v${id}`);
    }
  });
}

test('version objects are frozen', () => {
  const v = getRoomVersion('12')!;
  assert.throws(() => {
    (v as { knocking: boolean }).knocking = false;
  });
});
