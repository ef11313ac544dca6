//! A `data-market` call as the runtime decodes it from an extrinsic (SCALE), and
//! its weight, which the runtime computes from the call's arguments before
//! dispatching.
#![no_main]
use codec::{Decode, DecodeLimit};
use frame_support::dispatch::GetDispatchInfo;
use libfuzzer_sys::fuzz_target;
use sensorshare_runtime::Runtime;

/// The nesting a runtime call may have (polkadot-sdk's `MAX_EXTRINSIC_DEPTH`).
const MAX_DEPTH: u32 = 256;

fuzz_target!(|data: &[u8]| {
	let mut input = data;
	if let Ok(call) =
		pallet_data_market::Call::<Runtime>::decode_with_depth_limit(MAX_DEPTH, &mut input)
	{
		let _ = call.get_dispatch_info();
		let encoded = codec::Encode::encode(&call);
		let again = pallet_data_market::Call::<Runtime>::decode(&mut &encoded[..]);
		assert!(again.is_ok_and(|c| c == call), "a call re-decodes to itself");
	}
});
