//! ddflow: declarative SQL stream processing over Kafka on timely and differential dataflow.
#![warn(missing_docs)]

pub mod data;
pub mod error;
pub mod plan;
pub mod spec;

pub use error::{Error, Result};
