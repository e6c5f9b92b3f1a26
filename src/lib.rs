//! lbsteer: account-level load balancing, Cloudflare style, as a library.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod config;
pub mod geo;
mod request;

pub use config::Account;
pub use request::{HeaderSource, Request, Scheme};
