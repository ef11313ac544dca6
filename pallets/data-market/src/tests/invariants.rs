//! A property test: random calls from several accounts, each call's outcome predicted
//! from the state before it and asserted, and the invariants checked after each.

use super::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Step {
	Request {
		from: u64,
		len: u64,
		two: bool,
	},
	/// Accept with the re-keys of at most this many epochs.
	Accept(usize, u64),
	/// Add the re-keys of this many epochs, from the right first epoch or the one after.
	AddReKeys(usize, u64, bool),
	Reject(usize),
	Cancel(usize),
	/// Deliver what is re-keyed, the newly covered sensor-epochs picked by the
	/// mask's bits empty, listed in reverse order if the flag is set.
	Deliver(usize, u8, bool),
	Confirm(usize),
	Expire(usize),
	/// Run this many blocks.
	Advance(u64),
	/// Move the clock to the end of this epoch.
	Clock(u64),
}

fn step() -> impl Strategy<Value = Step> {
	prop_oneof![
		(0u64..20, 1u64..4, any::<bool>()).prop_map(|(from, len, two)| Step::Request {
			from,
			len,
			two
		}),
		(0usize..8, 1u64..4).prop_map(|(i, n)| Step::Accept(i, n)),
		(0usize..8, 0u64..4, any::<bool>()).prop_map(|(i, n, s)| Step::AddReKeys(i, n, s)),
		(0usize..8).prop_map(Step::Reject),
		(0usize..8).prop_map(Step::Cancel),
		(0usize..8, any::<u8>(), proptest::bool::weighted(0.2))
			.prop_map(|(i, mask, reversed)| Step::Deliver(i, mask, reversed)),
		(0usize..8).prop_map(Step::Confirm),
		(0usize..8).prop_map(Step::Expire),
		(1u64..15).prop_map(Step::Advance),
		(0u64..25).prop_map(Step::Clock),
	]
}

const ACCOUNTS: [AccountId; 7] = [OWNER, REQUESTER, PROVIDER, OTHER, OTHER_OWNER, PROVIDER_2, POOR];

/// Holds summed over every account equal what the records say they pay for.
fn check_holds(issuance: Balance) {
	assert_eq!(Balances::total_issuance(), issuance, "total issuance never changes");
	let sum = |reason: HoldReason| -> Balance {
		ACCOUNTS.iter().map(|w| Balances::balance_on_hold(&reason.into(), w)).sum()
	};
	let agreements: Vec<_> = Agreements::<Test>::iter_values().collect();
	let escrow: Balance = agreements.iter().map(|a| a.escrow()).sum();
	let storage: Balance = agreements.iter().map(|a| a.deposit + a.rekey_deposit).sum();
	let registrations: Balance = Sensors::<Test>::iter_values().map(|s| s.deposit).sum::<Balance>()
		+ Users::<Test>::iter_values().map(|u| u.deposit).sum::<Balance>()
		+ Providers::<Test>::iter_values().map(|p| p.deposit).sum::<Balance>();
	assert_eq!(sum(HoldReason::Escrow), escrow, "held escrow is the open agreements' escrow");
	assert_eq!(sum(HoldReason::StorageDeposit), storage, "held deposits are the recorded ones");
	assert_eq!(sum(HoldReason::Registration), registrations, "registration deposits as recorded");
}

fn last_event() -> Option<Event<Test>> {
	System::events().last().and_then(|r| match r.event.clone() {
		RuntimeEvent::DataMarket(e) => Some(e),
		_ => None,
	})
}

/// The first block from `due` with room for a deadline, as the pallet looks for it.
fn room(due: u64) -> bool {
	(due..=due + 2).any(|b| DeadlineCount::<Test>::get(b) < 3)
}

type E = Error<Test>;

proptest! {
	#![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

	#[test]
	fn every_call_does_what_the_state_before_it_predicts_and_the_invariants_hold(
		steps in proptest::collection::vec((step(), 0usize..3), 1..40)
	) {
		test(|| {
			let s1 = register_sensor_for(OWNER, b"s1", PRICE);
			let s2 = register_sensor_for(OWNER, b"s2", 3);
			let bob = register_user(REQUESTER, b"bob");
			let carol = register_user(OTHER, b"carol");
			let issuance = Balances::total_issuance();
			let callers = [REQUESTER, OTHER, OWNER];
			let signed = RuntimeOrigin::signed;
			for (step, who) in steps {
				let who = callers[who];
				let ids: Vec<AgreementId> = Agreements::<Test>::iter_keys().collect();
				let pick = |i: usize| ids.get(i % ids.len().max(1)).copied().unwrap_or(99);
				let now = System::block_number();
				let root = sp_io::storage::root(sp_runtime::StateVersion::V1);
				let before = match step {
					Step::Confirm(i) => Agreements::<Test>::get(pick(i)),
					_ => None,
				};
				// What the state says the call must return, and the call's result.
				let (expected, got): (Result<(), E>, DispatchResult) = match step.clone() {
					Step::Request { from, len, two } => {
						let names: &[&[u8]] = if two { &[b"s1", b"s2"] } else { &[b"s1"] };
						let expected = if !Users::<Test>::contains_key(who) {
							Err(E::RequesterNotRegistered)
						} else if !room(now + 10) {
							Err(E::DeadlinesFull)
						} else {
							Ok(())
						};
						let got = DataMarket::request_data(
							signed(who), sensors(names), from, from + len - 1, 1_000);
						(expected, got)
					},
					Step::Accept(i, n) | Step::AddReKeys(i, n, _) => {
						let a = pick(i);
						let Some(ag) = Agreements::<Test>::get(a) else {
							let got = DataMarket::accept_request(signed(OWNER), a, rekeys(&[&s1], &bob, 1, 0));
							prop_assert_eq!(got, Err(E::UnknownAgreement.into()));
							continue;
						};
						let user = if ag.requester == REQUESTER { &bob } else { &carol };
						let keys: Vec<&SecretKey> = ag.sensors.iter()
							.map(|s| if s[..] == b"s1"[..] { &s1 } else { &s2 }).collect();
						let first = ag.from_epoch + u64::from(ag.rekeyed);
						let keys = match n {
							0 => rekeys(&keys, user, 1, 0),
							n => rekeys(&keys, user, first, (first + n).min(ag.to_epoch + 1) - 1),
						};
						let late = now > ag.deadline;
						if let Step::AddReKeys(_, n, shifted) = step {
							let all = u64::from(ag.rekeyed) == ag.epochs();
							let expected = if ag.status != AgreementStatus::Accepted {
								Err(E::AgreementNotAccepted)
							} else if late {
								Err(E::DeadlinePassed)
							} else if all {
								Err(E::AllEpochsReKeyed)
							} else if shifted {
								Err(E::UnexpectedFirstEpoch)
							} else if n == 0 {
								Err(E::ReKeyCountMismatch)
							} else {
								Ok(())
							};
							let at = if shifted { first + 1 } else { first };
							(expected, DataMarket::add_rekeys(signed(OWNER), a, at, keys))
						} else {
							let expected = if ag.status != AgreementStatus::Requested {
								Err(E::AgreementNotPending)
							} else if late {
								Err(E::DeadlinePassed)
							} else {
								Ok(())
							};
							(expected, DataMarket::accept_request(signed(OWNER), a, keys))
						}
					},
					Step::Reject(i) => {
						let a = pick(i);
						let expected = match Agreements::<Test>::get(a) {
							None => Err(E::UnknownAgreement),
							Some(ag) if ag.owner != who => Err(E::NotAgreementOwner),
							Some(ag) if ag.status != AgreementStatus::Requested => Err(E::AgreementNotPending),
							Some(_) => Ok(()),
						};
						(expected, DataMarket::reject_request(signed(who), a).map(|_| ()).map_err(|e| e.error))
					},
					Step::Cancel(i) => {
						let a = pick(i);
						let expected = match Agreements::<Test>::get(a) {
							None => Err(E::UnknownAgreement),
							Some(ag) if ag.requester != who => Err(E::NotRequester),
							Some(ag) if ag.status == AgreementStatus::Delivered || ag.rekeyed > 0 =>
								Err(E::AgreementUnderway),
							Some(_) => Ok(()),
						};
						(expected, DataMarket::cancel_request(signed(who), a).map(|_| ()).map_err(|e| e.error))
					},
					Step::Deliver(i, mask, reversed) => {
						let a = pick(i);
						let ag = Agreements::<Test>::get(a);
						let through = ag.as_ref()
							.map_or(0, |ag| ag.progress().last_rekeyed_epoch().unwrap_or(ag.from_epoch.saturating_sub(1)));
						let mut picked = Vec::new();
						if let Some(ag) = &ag {
							let first_new = ag.from_epoch + u64::from(ag.delivered);
							let new = (0..ag.sensors.len() as u32)
								.flat_map(|s| (first_new..=through).map(move |e| (s, e)));
							for (k, entry) in new.enumerate() {
								if mask & (1 << (k % 8)) != 0 {
									picked.push(entry);
								}
							}
						}
						let unordered = reversed && picked.len() > 1;
						if reversed {
							picked.reverse();
						}
						let expected = match &ag {
							None => Err(E::UnknownAgreement),
							Some(ag) if ag.status != AgreementStatus::Accepted => Err(E::AgreementNotAccepted),
							Some(ag) if now > ag.deadline => Err(E::DeadlinePassed),
							Some(ag) if !(ag.from_epoch..=ag.to_epoch).contains(&through) =>
								Err(E::EpochOutsideAgreement),
							Some(ag) if through - ag.from_epoch + 1 > u64::from(ag.rekeyed) =>
								Err(E::EpochNotReKeyed),
							Some(ag) if through - ag.from_epoch < u64::from(ag.delivered) =>
								Err(E::EpochDeliveredAlready),
							Some(_) if unordered => Err(E::EmptyEpochsNotAscending),
							Some(ag) if through == ag.to_epoch && !room(now + 20) => Err(E::DeadlinesFull),
							Some(_) => Ok(()),
						};
						let listed = empty(&picked);
						(expected, DataMarket::deliver(signed(PROVIDER), a, through, bounded(b"/d"), [1; 32], listed))
					},
					Step::Confirm(i) => {
						let a = pick(i);
						let expected = match Agreements::<Test>::get(a) {
							None => Err(E::UnknownAgreement),
							Some(ag) if ag.requester != who => Err(E::NotRequester),
							Some(ag) if ag.status != AgreementStatus::Delivered => Err(E::AgreementNotDelivered),
							Some(_) => Ok(()),
						};
						(expected, DataMarket::confirm(signed(who), a).map(|_| ()).map_err(|e| e.error))
					},
					Step::Expire(i) => {
						let a = pick(i);
						let expected = match Agreements::<Test>::get(a) {
							None => Err(E::UnknownAgreement),
							Some(ag) if now <= ag.deadline => Err(E::DeadlineNotReached),
							Some(_) => Ok(()),
						};
						(expected, DataMarket::expire(signed(who), a).map(|_| ()).map_err(|e| e.error))
					},
					Step::Advance(n) => {
						run_to_block(now + n);
						(Ok(()), Ok(()))
					},
					Step::Clock(epoch) => {
						NowSecs::set((epoch + 1) * EPOCH_SECS);
						(Ok(()), Ok(()))
					},
				};
				prop_assert_eq!(got, expected.map_err(Into::into), "{:?} by {}", step, who);
				if got.is_err() {
					let after = sp_io::storage::root(sp_runtime::StateVersion::V1);
					prop_assert_eq!(root, after, "a refused call changes nothing");
				} else {
					let event = last_event();
					let fits = match step {
						Step::Request { .. } => matches!(event, Some(Event::DataRequested { .. })),
						Step::Accept(..) => matches!(event, Some(Event::RequestAccepted { .. })),
						Step::AddReKeys(..) => matches!(event, Some(Event::ReKeysAdded { .. })),
						Step::Reject(_) => matches!(event, Some(Event::RequestRejected { .. })),
						Step::Cancel(_) => matches!(event, Some(Event::RequestCancelled { .. })),
						Step::Deliver(..) => matches!(event, Some(Event::DataDelivered { .. })),
						// Paid the price and fee of every sensor-epoch not delivered empty,
						// the rest of the escrow refunded.
						Step::Confirm(i) => before.is_some_and(|ag| {
							let sensor_epochs = ag.sensors.len() as u64 * ag.epochs();
							let owner = ag.price - ag.empty_price;
							let provider =
								PROVIDER_FEE * (sensor_epochs - u64::from(ag.empty_epochs));
							event == Some(Event::AgreementSettled {
								id: pick(i),
								owner_paid: owner,
								provider_paid: provider,
								refunded: ag.escrow() - owner - provider,
								empty_epochs: ag.empty_epochs,
								confirmed: true,
							})
						}),
						Step::Expire(_) => matches!(event, Some(
							Event::AgreementExpired { .. } | Event::AgreementSettled { confirmed: false, .. }
							| Event::AgreementLapsed { .. } | Event::DeadlineExtended { .. })),
						Step::Advance(_) | Step::Clock(_) => true,
					};
					prop_assert!(fits, "{:?} emitted {:?}", step, event);
				}
				DataMarket::do_try_state().expect("the invariants hold");
				check_holds(issuance);
			}
			Ok(())
		})?;
	}
}
