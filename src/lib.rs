//! sockspec: what people believe about Linux socket options, checked against
//! the running kernel. See README.md.
//!
//! Layers: `lab` (sandbox, capture) <- `cases` (one file per area) <-
//! `report` (output formats); `runner` runs cases in isolated child processes.

pub mod artifacts;
pub mod cases;
pub mod lab;
pub mod model;
pub mod report;
pub mod runner;
