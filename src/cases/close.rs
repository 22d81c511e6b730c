//! close() without linger, shutdown(), and what closing with unread data does (004 §5.2).

use crate::model::Case;

pub static CASES: &[&Case] = &[];
