//! Test support, one file per concern: the sample sites' answer keys, the
//! in-process partner server, test configs, requests through the router, a
//! hostile partner, the daemon inside a test, the captured log, and apt-get
//! for the tools a test installs.

#![allow(dead_code)]

pub mod answers;
pub mod apt;
pub mod configs;
pub mod daemon;
pub mod hostile;
pub mod http;
pub mod logs;
pub mod partners;

pub use answers::*;
pub use configs::*;
pub use http::*;
pub use partners::*;
