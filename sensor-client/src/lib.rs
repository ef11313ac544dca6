//! The SensorShare sensor client: the paper's IoT application on a Raspberry Pi
//! beside a TI SensorTag CC2650.
//!
//! - [`sensortag`]: the tag's GATT services and TI's conversion formulas;
//!   [`ble`] (feature `ble`) reads a real tag over Bluetooth LE;
//!   [`simulated`] stands in for one where there is none.
//! - [`pipeline`]: per epoch, the data key and capsule; each reading sealed, and the
//!   epoch's records signed in batches; [`log`] keeps capsules and batches on disk
//!   through outages, restarts and crashes, one `fsync` a batch.
//! - [`agent`]: the owner agent that answers requests with re-keys.
//! - [`register`] and [`stream`]: the `register` and `run` commands of
//!   `sensorshare-sensor`, whose `main` only parses and wires.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod agent;
#[cfg(feature = "ble")]
pub mod ble;
pub mod log;
pub mod pipeline;
pub mod register;
pub mod sensortag;
pub mod simulated;
pub mod stream;
