//! Test support, one file per concern: the sample sites' answer keys, the
//! in-process partner server, test configs, requests through the router, a
//! hostile partner, the daemon inside a test, the captured log, a generated
//! newsroom (thousands of look-alike reports for story matching), the strict
//! clients that read served feeds, the outside programs tests install, and
//! local receivers (a forward/CONNECT proxy, a webhook receiver, an SMTP receiver).

#![allow(dead_code)]

pub mod answers;
pub mod configs;
pub mod daemon;
pub mod hostile;
pub mod http;
pub mod logs;
pub mod newsroom;
pub mod partners;
pub mod receivers;
pub mod strict;
pub mod tools;

pub use answers::*;
pub use configs::*;
pub use http::*;
pub use partners::*;
