// The data market's five attacks, each expected to be refused with its named error,
// and an honest agreement with every balance checked to the unit, from polkadot.js:
// a client that shares no code with ours. Run it against a running demo:
//
//   bash scripts/demo.sh            # in one terminal; wait for "Press Ctrl-C to stop."
//   cd scripts/polkadotjs && npm ci && node attacks.mjs [ws://127.0.0.1:9944]
//
// It registers what it needs with the project's own `sensorshare-sensor` (a proof of
// possession is a CB-PRE signature, which polkadot.js cannot make), and exits 0
// only if every attack is refused as expected and the honest agreement settles
// exactly.

import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import { p256 } from '@noble/curves/p256';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
const sensorBin = join(targetDir, 'release', 'sensorshare-sensor');
const U64_MAX = (1n << 64n) - 1n;

const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });
const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
const [alice, bob, dave, eve, ferdie] = ['//Alice', '//Bob', '//Dave', '//Eve', '//Ferdie'].map(
  (u) => keyring.addFromUri(u),
);
const hex = (bytes) => '0x' + Buffer.from(bytes).toString('hex');
const idOf = (text) => hex(Buffer.from(text));
const random = (n) => crypto.getRandomValues(new Uint8Array(n));
let failures = 0;

function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures += 1;
}

// Signs and sends `tx`, waits for its block (the dev chain finalizes at once) and
// returns { block, events, error }, `error` the pallet error's name if refused.
function send(tx, signer) {
  return new Promise((resolve, reject) => {
    let unsub;
    tx.signAndSend(signer, { nonce: -1 }, ({ status, events, dispatchError }) => {
      if (!status.isInBlock && !status.isFinalized) return;
      unsub?.();
      let error = null;
      if (dispatchError) {
        error = dispatchError.isModule
          ? api.registry.findMetaError(dispatchError.asModule).name
          : dispatchError.toString();
      }
      const hash = status.isInBlock ? status.asInBlock : status.asFinalized;
      api.rpc.chain
        .getHeader(hash)
        .then((h) => resolve({ block: h.number.toNumber(), hash, events, error }))
        .catch(reject);
    })
      .then((u) => (unsub = u))
      .catch(reject);
  });
}

async function refused(what, tx, signer, expected) {
  const { error } = await send(tx, signer);
  check(error === expected, `${what}: refused with ${error ?? 'nothing (accepted!)'}, expected ${expected}`);
}

function event(events, method) {
  return events.find((e) => e.event.section === 'dataMarket' && e.event.method === method)?.event;
}

async function total(who) {
  const { data } = await api.query.system.account(who.address);
  return data.free.toBigInt() + data.reserved.toBigInt();
}

async function reserved(who) {
  return (await api.query.system.account(who.address)).data.reserved.toBigInt();
}

// `sensorshare-sensor register`, with the dev CA; the block it landed in.
function registerSensor(id, owner, price, provider) {
  const dir = mkdtempSync(join(tmpdir(), 'sensorshare-attacks-'));
  const out = execFileSync(
    sensorBin,
    ['--chain-url', url, 'register', '--id', id, '--key', join(dir, `${id}.key`), '--dev-ca',
      '--owner', owner, '--price', price, '--epoch-secs', '5', '--first-epoch', '0',
      '--provider', provider],
    { encoding: 'utf8' },
  );
  const block = Number(/in block (\d+)/.exec(out)?.[1]);
  if (!block) throw new Error(`sensorshare-sensor register printed no block: ${out}`);
  return block;
}

async function epochNow(secs) {
  return BigInt(Math.floor((await api.query.timestamp.now()).toNumber() / 1000 / secs));
}

const tag = 'tag-1';
const sensor = (await api.query.dataMarket.sensors(idOf(tag))).unwrap();
const epochSecs = sensor.epochSecs.toNumber();
const suffix = Buffer.from(random(3)).toString('hex');
console.log(`SensorShare on ${url}: ${tag}, ${epochSecs}-second epochs`);

// 1. A range whose epoch count wraps to 0 without checked arithmetic.
await refused(
  'request of epochs 0..=u64::MAX at max_price 0',
  api.tx.dataMarket.requestData([idOf(tag)], 0, U64_MAX, 0),
  bob,
  'TooManyEpochs',
);

// 2. A certificate that is a random curve point: nobody holds the key the chain
//    would derive from it.
const point = hex(p256.getPublicKey(p256.utils.randomPrivateKey(), true));
await refused(
  'register_identity with a random point as certificate',
  api.tx.dataMarket.registerIdentity(idOf(`mallory-${suffix}`), point, hex(random(64))),
  eve,
  'InvalidPossession',
);
await refused(
  'register_sensor with a random point as certificate',
  api.tx.dataMarket.registerSensor(idOf(`mallory-${suffix}`), point, hex(random(64)), 0, 5, 0,
    ferdie.address, '0x'),
  eve,
  'InvalidPossession',
);

// 3. Dave registers a sensor and deregisters it; Eve registers it again with Dave's
//    (id, cert) and even the proof from Dave's own registration, read from the block.
const victim = `victim-${suffix}`;
const at = registerSensor(victim, '//Dave', '0', ferdie.address);
const block = await api.rpc.chain.getBlock(await api.rpc.chain.getBlockHash(at));
const registration = block.block.extrinsics.find(
  (x) => x.method.section === 'dataMarket' && x.method.method === 'registerSensor',
);
const [vid, vcert, vproof] = registration.method.args;
check((await send(api.tx.dataMarket.deregisterSensor(vid), dave)).error === null,
  'Dave deregistered his sensor');
await refused(
  "register_sensor of Dave's deregistered sensor by Eve, with Dave's (id, cert, proof)",
  api.tx.dataMarket.registerSensor(vid, vcert, vproof, 0, 5, 0, ferdie.address, '0x'),
  eve,
  'InvalidPossession',
);

// 4. A provider with fee 0 and a sensor at price 0: a request far ahead, stored for
//    the transaction fee alone.
if ((await api.query.dataMarket.providers(eve.address)).isNone) {
  await send(api.tx.dataMarket.registerProvider('0x' + Buffer.from('http://127.0.0.1:9').toString('hex'), 0), eve);
}
const free = `free-${suffix}`;
registerSensor(free, '//Dave', '0', eve.address);
const far = 1_000_000_000_000n;
await refused(
  'request of 256 free epochs from epoch 10^12',
  api.tx.dataMarket.requestData([idOf(free)], far, far + 255n, 0),
  bob,
  'EpochTooFarAhead',
);
const now = await epochNow(5);
const heldBefore = await reserved(bob);
const near = await send(api.tx.dataMarket.requestData([idOf(free)], now + 1n, now + 8n, 0), bob);
const requested = event(near.events, 'DataRequested');
const deposit = requested?.data.deposit.toBigInt() ?? 0n;
check(near.error === null && deposit > 0n && (await reserved(bob)) - heldBefore === deposit,
  `a free request near the chain's epoch holds a deposit (${deposit})`);
await send(api.tx.dataMarket.cancelRequest(requested.data.id), bob);
check((await reserved(bob)) === heldBefore, 'cancelled, its deposit is returned');

// 5. `add_rekeys` sent twice (a retry after an ambiguous failure): the second copy
//    would land under the next epochs.
const sub = await send(api.tx.dataMarket.requestData([idOf(free)], now - 1n, now + 3n, 0), bob);
const subId = event(sub.events, 'DataRequested').data.id;
await send(api.tx.dataMarket.acceptRequest(subId, [[hex(random(32))]]), dave);
const again = api.tx.dataMarket.addRekeys(subId, now, [[hex(random(32))]]);
check((await send(again, dave)).error === null, "Dave posted the next epoch's re-keys");
await refused('the same add_rekeys again', again, dave, 'UnexpectedFirstEpoch');
const stored = (await api.query.dataMarket.reKeys(subId)).unwrap();
check(stored[0].length === 2, `two epochs re-keyed, not three (${stored[0].length})`);

// An honest agreement: Bob requests two ended epochs of tag-1; Alice's agent accepts,
// Ferdie's worker delivers, Bob confirms. Every balance to the unit.
const owner = sensor.owner.toString() === alice.address ? alice : null;
check(owner !== null, "tag-1 is Alice's");
// Two epochs that ended at least one epoch ago, neither before the sensor's first.
const firstEpoch = sensor.firstEpoch.toBigInt();
while ((await epochNow(epochSecs)) - 2n < firstEpoch + 1n) {
  await new Promise((r) => setTimeout(r, 1000));
}
const last = (await epochNow(epochSecs)) - 2n;
const parties = [alice, ferdie, bob];
const before = await Promise.all(parties.map(total));
const heldBob = await reserved(bob);
const req = await send(api.tx.dataMarket.requestData([idOf(tag)], last - 1n, last, U64_MAX), bob);
const ag = event(req.events, 'DataRequested').data;
const [id, price, fee] = [ag.id, ag.price.toBigInt(), ag.fee.toBigInt()];
console.log(`     agreement ${id}: price ${price}, fee ${fee}, deposit ${ag.deposit}`);
for (let i = 0; ; i += 1) {
  const a = await api.query.dataMarket.agreements(id);
  if (a.isSome && a.unwrap().status.isDelivered) break;
  if (i > 600) throw new Error(`agreement ${id} was not delivered in 60 s`);
  await new Promise((r) => setTimeout(r, 100));
}
const confirmed = await send(api.tx.dataMarket.confirm(id), bob);
const settled = event(confirmed.events, 'AgreementSettled').data;
const [ownerPaid, providerPaid, refunded] =
  [settled.ownerPaid.toBigInt(), settled.providerPaid.toBigInt(), settled.refunded.toBigInt()];
const empty = settled.emptyEpochs.toNumber();
console.log(`     settled: owner ${ownerPaid}, provider ${providerPaid}, refunded ${refunded} (${empty} empty)`);
check(ownerPaid + providerPaid + refunded === price + fee, 'the escrow is paid out exactly');
check(empty > 0 || (ownerPaid === price && providerPaid === fee),
  'settled: the owner paid the price, the provider the fee');
check(empty === 0 || refunded > 0n, 'the epochs without data are refunded');
const fees = new Map();
for (let n = req.block; n <= confirmed.block; n += 1) {
  const events = await (await api.at(await api.rpc.chain.getBlockHash(n))).query.system.events();
  for (const { event: e } of events) {
    if (e.section === 'transactionPayment' && e.method === 'TransactionFeePaid') {
      const who = e.data.who.toString();
      fees.set(who, (fees.get(who) ?? 0n) + e.data.actualFee.toBigInt() + e.data.tip.toBigInt());
    }
  }
}
const after = await Promise.all(parties.map(total));
const expect = [ownerPaid, providerPaid, -(ownerPaid + providerPaid)];
parties.forEach((p, i) => {
  const change = after[i] - before[i] + (fees.get(p.address) ?? 0n);
  check(change === expect[i], `${['owner', 'provider', 'requester'][i]}: ${change} besides fees, expected ${expect[i]}`);
});
check((await reserved(bob)) === heldBob, "the requester's deposit is returned");

await api.disconnect();
console.log(failures === 0 ? 'all checks passed' : `${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
