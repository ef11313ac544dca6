//! The connection, transaction submission and storage reads.

use crate::{
	api::{self, runtime_types::bounded_collections::bounded_vec::BoundedVec},
	AccountId32, Agreement, Balance, Config, Error, MarketEvent, RegisteredUser, Sensor, H256,
};
use std::{collections::HashMap, str::FromStr, sync::Arc, time::Duration};
use subxt::{
	backend::{
		legacy::LegacyRpcMethods,
		rpc::{
			reconnecting_rpc_client::{ExponentialBackoff, RpcClient as ReconnectingRpcClient},
			RpcClient,
		},
	},
	blocks::ExtrinsicEvents,
	config::DefaultExtrinsicParamsBuilder,
	tx::Payload,
	OnlineClient,
};
use subxt_signer::{sr25519::Keypair, SecretUri};
use tokio::sync::Mutex;

/// How long a transaction's watch may be silent before the transaction is looked
/// for in the blocks instead.
const WATCH_PATIENCE: Duration = Duration::from_secs(30);

/// How long a transaction whose watch was lost is looked for in the blocks.
const FIND_PATIENCE: Duration = Duration::from_secs(300);

/// How long [`ChainClient::connect`] tries before it gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// An sr25519 account key from a secret URI: `//Alice` on a dev chain, or a
/// mnemonic with an optional derivation path.
pub fn signer_from_uri(uri: &str) -> Result<Keypair, Error> {
	let uri = SecretUri::from_str(uri).map_err(|e| Error::SecretUri(e.to_string()))?;
	Keypair::from_uri(&uri).map_err(|e| Error::SecretUri(e.to_string()))
}

/// Whether a failed watch leaves the transaction's fate open: the node dropped the
/// subscription (its JSON-RPC "internal error") or the connection went, as opposed
/// to the pool refusing the transaction or reporting it invalid or dropped.
fn watch_lost(e: &subxt::Error) -> bool {
	use subxt::{error::RpcError, ext::subxt_rpcs::Error as Rpc};
	/// JSON-RPC's "internal error", what the node answers when it drops a
	/// subscription before it was set up.
	const INTERNAL_ERROR: i32 = -32603;
	match e {
		subxt::Error::Rpc(RpcError::SubscriptionDropped) => true,
		subxt::Error::Rpc(RpcError::ClientError(Rpc::User(u))) => u.code == INTERNAL_ERROR,
		subxt::Error::Rpc(RpcError::ClientError(Rpc::DisconnectedWillReconnect(_))) => true,
		_ => false,
	}
}

/// A transaction in a finalized block, dispatched successfully.
pub struct Included {
	/// The block's hash.
	pub block_hash: H256,
	/// The block's number.
	pub block_number: u32,
	/// The transaction's events.
	pub events: ExtrinsicEvents<Config>,
}

impl Included {
	/// The transaction's first event of type `E`.
	pub fn find<E: subxt::events::StaticEvent>(&self) -> Result<Option<E>, Error> {
		Ok(self.events.find_first::<E>()?)
	}
}

/// A connection to a SensorShare node.
#[derive(Clone)]
pub struct ChainClient {
	url: String,
	api: OnlineClient<Config>,
	rpc: LegacyRpcMethods<Config>,
	raw: RpcClient,
	/// The next nonce of each account that submitted through this client, so that
	/// many transactions can be in flight at once.
	nonces: Arc<Mutex<HashMap<[u8; 32], u64>>>,
}

/// Blocks a transaction stays valid for, from the finalized head it was signed at.
const MORTALITY: u64 = 64;

impl ChainClient {
	/// Connects to the node at `url` (`ws://127.0.0.1:9944`). The connection comes
	/// back by itself, with exponential backoff, when the node goes away.
	pub async fn connect(url: &str) -> Result<Self, Error> {
		Self::connect_with_timeout(url, CONNECT_TIMEOUT).await
	}

	/// Connects, giving up after `timeout`.
	pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Self, Error> {
		let failed = |reason: String| Error::Connect { url: url.to_string(), reason };
		let connect = async {
			let rpc = ReconnectingRpcClient::builder()
				.retry_policy(ExponentialBackoff::from_millis(50).max_delay(Duration::from_secs(5)))
				.build(url.to_string())
				.await
				.map_err(|e| failed(e.to_string()))?;
			let rpc = RpcClient::new(rpc);
			let api = OnlineClient::<Config>::from_rpc_client(rpc.clone())
				.await
				.map_err(|e| failed(e.to_string()))?;
			Ok(ChainClient {
				url: url.to_string(),
				api,
				rpc: LegacyRpcMethods::new(rpc.clone()),
				raw: rpc,
				nonces: Default::default(),
			})
		};
		tokio::time::timeout(timeout, connect)
			.await
			.map_err(|_| failed(format!("no answer within {timeout:?}")))?
	}

	/// The node's URL.
	pub fn url(&self) -> &str {
		&self.url
	}

	/// The underlying subxt client, for what this crate does not wrap.
	pub fn api(&self) -> &OnlineClient<Config> {
		&self.api
	}

	/// Signs `call` with `signer`, submits it and waits until it is finalized. A
	/// transaction the chain refuses gives [`Error::Refused`] with the pallet's error.
	///
	/// Nonces are counted here, so concurrent submissions from one account each get
	/// their own and are in flight together (the pool orders them by nonce); after a
	/// failure the next submission asks the chain again.
	pub async fn submit<C: Payload>(&self, call: &C, signer: &Keypair) -> Result<Included, Error> {
		let account: AccountId32 = signer.public_key().to_account_id();
		// Mortal from the finalized head, read before the nonce is taken: under the
		// lock there is nothing but signing (and a nonce query once per account), so
		// concurrent submissions leave together.
		let (number, hash) = self.finalized_head().await?;
		let signed = {
			let mut nonces = self.nonces.lock().await;
			// The node's next index counts transactions still in its pool, so a
			// query after a failure does not reuse a nonce of one in flight.
			let nonce = match nonces.get(&account.0) {
				Some(n) => *n,
				None => self
					.rpc
					.system_account_next_index(&account)
					.await
					.map_err(subxt::Error::from)?,
			};
			let params = DefaultExtrinsicParamsBuilder::<Config>::new()
				.nonce(nonce)
				.mortal_from_unchecked(MORTALITY, number.into(), hash)
				.build();
			let signed = self.api.tx().create_partial_offline(call, params)?.sign(signer);
			nonces.insert(account.0, nonce.saturating_add(1));
			signed
		};
		let tx = signed.hash();
		let watch = async {
			match signed.submit_and_watch().await {
				Ok(progress) => progress.wait_for_finalized().await,
				Err(e) => Err(e),
			}
		};
		let watched = match tokio::time::timeout(WATCH_PATIENCE, watch).await {
			Ok(watched) => watched,
			// Silent: the node may have dropped the watch without a word.
			Err(_) => Err(subxt::error::RpcError::SubscriptionDropped.into()),
		};
		let found = match watched {
			Ok(in_block) => {
				let block_hash = in_block.block_hash();
				let events = in_block.wait_for_success().await?;
				let block_number = self.api.blocks().at(block_hash).await?.number();
				return Ok(Included { block_hash, block_number, events });
			},
			Err(e) if watch_lost(&e) => {
				tracing::debug!(%tx, error = %e, "lost the watch of a transaction; looking for it in blocks");
				self.find_finalized(tx, number, number.saturating_add(MORTALITY as u32)).await
			},
			Err(e) => Err(e.into()),
		};
		if found.as_ref().is_err_and(|e| !e.is_refusal()) {
			self.nonces.lock().await.remove(&account.0);
		}
		found
	}

	/// Looks for transaction `tx` in the finalized blocks after `from`: for a
	/// transaction whose watch the node dropped (under load it may drop a watch whose
	/// updates back up on the connection, even after taking the transaction into its
	/// pool). Gives up when the finalized head is past `until`, the transaction's
	/// last block, or when the transaction is in no block and not in the pool while
	/// every block is final.
	async fn find_finalized(&self, tx: H256, from: u32, until: u32) -> Result<Included, Error> {
		let mut next = from.saturating_add(1);
		let mut round = 0u32;
		let started = tokio::time::Instant::now();
		loop {
			// Every 2 s. Asked before the blocks are read: a transaction that leaves
			// the pool for a block in between is found in that block.
			let gone = round % 10 == 9 && self.gone(tx).await?;
			round = round.wrapping_add(1);
			let (head, _) = self.finalized_head().await?;
			while next <= head {
				let Some(block_hash) = self.block_hash(next).await? else { break };
				let block = self.api.blocks().at(block_hash).await?;
				for ext in block.extrinsics().await?.iter() {
					if ext.hash() != tx {
						continue;
					}
					let events = ext.events().await?;
					for ev in events.iter() {
						let ev = ev?;
						if ev.pallet_name() == "System" && ev.variant_name() == "ExtrinsicFailed" {
							let error = subxt::error::DispatchError::decode_from(
								ev.field_bytes(),
								self.api.metadata(),
							)?;
							return Err(subxt::Error::from(error).into());
						}
					}
					return Ok(Included { block_hash, block_number: next, events });
				}
				next = next.saturating_add(1);
			}
			if head > until {
				return Err(Error::Dropped(format!("{tx:?} is in no block up to {until}")));
			}
			if gone {
				return Err(Error::Dropped(format!("{tx:?} is in no block and not in the pool")));
			}
			if started.elapsed() > FIND_PATIENCE {
				return Err(Error::Dropped(format!(
					"{tx:?} is in no block after {FIND_PATIENCE:?} (waiting in the pool?)"
				)));
			}
			tokio::time::sleep(Duration::from_millis(200)).await;
		}
	}

	/// Whether transaction `tx` is not in the node's pool while every block is
	/// final: no block to come holds it.
	async fn gone(&self, tx: H256) -> Result<bool, Error> {
		use subxt::config::Hasher as _;
		let pending: Vec<String> = self
			.raw
			.request("author_pendingExtrinsics", subxt::ext::subxt_rpcs::rpc_params![])
			.await
			.map_err(subxt::Error::from)?;
		let hasher = self.api.hasher();
		let hash = |xt: &String| hex::decode(xt.trim_start_matches("0x")).map(|b| hasher.hash(&b));
		if pending.iter().any(|xt| hash(xt).is_ok_and(|h| h == tx)) {
			return Ok(false);
		}
		let best = self.rpc.chain_get_header(None).await.map_err(subxt::Error::from)?;
		let (finalized, _) = self.finalized_head().await?;
		Ok(best.is_none_or(|b| b.number <= finalized))
	}

	/// Whether `who` has transactions that are not final yet: in the node's pool, or
	/// in blocks GRANDPA has not finalized (the node's next index for `who` is past
	/// the nonce of the finalized state). A party that lost track of a submission
	/// waits until this is false before it reads the chain and decides whether to
	/// send again, so that a transaction still on its way is not sent twice.
	pub async fn has_unfinalized_transactions(&self, who: &AccountId32) -> Result<bool, Error> {
		let next = self.rpc.system_account_next_index(who).await.map_err(subxt::Error::from)?;
		let addr = api::storage().system().account(who.clone());
		let finalized = self.api.storage().at_latest().await?.fetch_or_default(&addr).await?;
		Ok(u64::from(finalized.nonce) < next)
	}

	/// The number and hash of the last finalized block.
	pub async fn finalized_head(&self) -> Result<(u32, H256), Error> {
		let hash = self.rpc.chain_get_finalized_head().await.map_err(subxt::Error::from)?;
		let number = self.api.blocks().at(hash).await?.number();
		Ok((number, hash))
	}

	/// The hash of block `number`, if the chain has one.
	pub async fn block_hash(&self, number: u32) -> Result<Option<H256>, Error> {
		Ok(self.rpc.chain_get_block_hash(Some(number.into())).await.map_err(subxt::Error::from)?)
	}

	/// The data-market events of a block.
	pub async fn market_events(&self, block: H256) -> Result<Vec<MarketEvent>, Error> {
		let events = self.api.events().at(block).await?;
		let mut out = Vec::new();
		for ev in events.iter() {
			let ev = ev?;
			if ev.pallet_name() != "DataMarket" {
				continue;
			}
			if let api::Event::DataMarket(e) = ev.as_root_event::<api::Event>()? {
				out.push(e);
			}
		}
		Ok(out)
	}

	/// The transaction fees (tips included) each account paid in a block.
	pub async fn fees_paid(&self, block: H256) -> Result<Vec<(AccountId32, Balance)>, Error> {
		let events = self.api.events().at(block).await?;
		let mut out = Vec::new();
		for ev in events.find::<api::transaction_payment::events::TransactionFeePaid>() {
			let ev = ev?;
			out.push((ev.who, ev.actual_fee.saturating_add(ev.tip)));
		}
		Ok(out)
	}

	/// The free balance of `who`.
	pub async fn free_balance(&self, who: &AccountId32) -> Result<Balance, Error> {
		let addr = api::storage().system().account(who.clone());
		let info = self.api.storage().at_latest().await?.fetch_or_default(&addr).await?;
		Ok(info.data.free)
	}

	/// The balance of `who` on hold, for escrows and deposits.
	pub async fn reserved_balance(&self, who: &AccountId32) -> Result<Balance, Error> {
		let addr = api::storage().system().account(who.clone());
		let info = self.api.storage().at_latest().await?.fetch_or_default(&addr).await?;
		Ok(info.data.reserved)
	}

	/// The CA key `P_alpha` on chain.
	pub async fn ca_key(&self) -> Result<Option<cbpre::CaPublicKey>, Error> {
		let addr = api::storage().data_market().ca_key();
		let found = self.api.storage().at_latest().await?.fetch(&addr).await?;
		found
			.map(|k| {
				cbpre::CaPublicKey::from_bytes(&k)
					.map_err(|e| Error::InvalidChainData(format!("CA key: {e}")))
			})
			.transpose()
	}

	/// A registered storage provider: its endpoint and fee per epoch.
	pub async fn provider(&self, who: &AccountId32) -> Result<Option<(String, Balance)>, Error> {
		let addr = api::storage().data_market().providers(who.clone());
		let found = self.api.storage().at_latest().await?.fetch(&addr).await?;
		Ok(found.map(|p| (String::from_utf8_lossy(&p.endpoint.0).into_owned(), p.fee_per_epoch)))
	}

	/// A registered sensor.
	pub async fn sensor(&self, id: &[u8]) -> Result<Option<Sensor>, Error> {
		let addr = api::storage().data_market().sensors(BoundedVec(id.to_vec()));
		let found = self.api.storage().at_latest().await?.fetch(&addr).await?;
		found.map(|s| Sensor::from_chain(id, s)).transpose()
	}

	/// Every registered sensor.
	pub async fn sensors(&self) -> Result<Vec<Sensor>, Error> {
		let addr = api::storage().data_market().sensors_iter();
		let mut iter = self.api.storage().at_latest().await?.iter(addr).await?;
		let mut out = Vec::new();
		while let Some(kv) = iter.next().await {
			let kv = kv?;
			let id = decode_key::<Vec<u8>>(&kv.key_bytes, 48)?;
			out.push(Sensor::from_chain(&id, kv.value)?);
		}
		Ok(out)
	}

	/// The identity `who` registered as a data user.
	pub async fn identity(&self, who: &AccountId32) -> Result<Option<RegisteredUser>, Error> {
		let addr = api::storage().data_market().users(who.clone());
		let found = self.api.storage().at_latest().await?.fetch(&addr).await?;
		found.map(|u| RegisteredUser::from_chain(who.clone(), u)).transpose()
	}

	/// An open agreement.
	pub async fn agreement(&self, id: u64) -> Result<Option<Agreement>, Error> {
		let addr = api::storage().data_market().agreements(id);
		let found = self.api.storage().at_latest().await?.fetch(&addr).await?;
		found.map(|a| Agreement::from_chain(id, a)).transpose()
	}

	/// Every open agreement.
	pub async fn agreements(&self) -> Result<Vec<Agreement>, Error> {
		let addr = api::storage().data_market().agreements_iter();
		let mut iter = self.api.storage().at_latest().await?.iter(addr).await?;
		let mut out = Vec::new();
		while let Some(kv) = iter.next().await {
			let kv = kv?;
			let id = decode_key::<u64>(&kv.key_bytes, 40)?;
			out.push(Agreement::from_chain(id, kv.value)?);
		}
		out.sort_by_key(|a| a.id);
		Ok(out)
	}

	/// The sensor-epochs of agreement `id` that its deliveries named empty, in the
	/// order of the deliveries.
	pub async fn empty_epochs(
		&self,
		id: u64,
	) -> Result<Vec<sensorshare_market::EmptyEpoch>, Error> {
		let addr = api::storage().data_market().empty_epochs(id);
		let found = self.api.storage().at_latest().await?.fetch(&addr).await?;
		Ok(found.map_or_else(Vec::new, |e| e.0.into_iter().map(Into::into).collect()))
	}

	/// The re-keys of an accepted agreement: for each sensor, one per epoch.
	pub async fn rekeys(&self, id: u64) -> Result<Option<Vec<Vec<cbpre::ReKey>>>, Error> {
		let addr = api::storage().data_market().re_keys(id);
		let Some(rekeys) = self.api.storage().at_latest().await?.fetch(&addr).await? else {
			return Ok(None);
		};
		rekeys
			.0
			.into_iter()
			.map(|per_sensor| {
				per_sensor
					.0
					.into_iter()
					.map(|rk| {
						cbpre::ReKey::from_bytes(&rk)
							.map_err(|e| Error::InvalidChainData(format!("re-key: {e}")))
					})
					.collect()
			})
			.collect::<Result<_, _>>()
			.map(Some)
	}
}

/// Decodes the key at the end of a storage key, after `prefix` bytes of hashes.
fn decode_key<K: subxt::ext::codec::Decode>(key: &[u8], prefix: usize) -> Result<K, Error> {
	let mut rest = key.get(prefix..).unwrap_or_default();
	K::decode(&mut rest).map_err(|e| Error::InvalidChainData(format!("storage key: {e}")))
}

#[cfg(test)]
mod tests {
	use super::watch_lost;
	use subxt::{
		error::{RpcError, TransactionError},
		ext::subxt_rpcs::{Error as Rpc, UserError},
	};

	fn user_error(code: i32) -> subxt::Error {
		let e = UserError { code, message: "x".into(), data: None };
		subxt::Error::Rpc(RpcError::ClientError(Rpc::User(e)))
	}

	#[test]
	fn a_watch_the_node_dropped_leaves_the_transaction_to_be_looked_for() {
		assert!(watch_lost(&user_error(-32603)));
		assert!(watch_lost(&subxt::Error::Rpc(RpcError::SubscriptionDropped)));
		let gone = Rpc::DisconnectedWillReconnect("restart".into());
		assert!(watch_lost(&subxt::Error::Rpc(RpcError::ClientError(gone))));
	}

	#[test]
	fn a_transaction_the_pool_refused_or_dropped_is_not_looked_for() {
		// 1010: the pool's "invalid transaction"; 1014: priority too low.
		assert!(!watch_lost(&user_error(1010)));
		assert!(!watch_lost(&user_error(1014)));
		assert!(!watch_lost(&TransactionError::Invalid("stale".into()).into()));
		assert!(!watch_lost(&TransactionError::Dropped("full".into()).into()));
	}
}
