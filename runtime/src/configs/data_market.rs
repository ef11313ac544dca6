//! The data market: limits and periods of agreements.

use super::*;

parameter_types! {
	/// The hold reason for escrowed payments.
	pub const DataMarketMaxSensorsPerRequest: u32 = 16;
}
