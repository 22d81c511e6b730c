//! SO_KEEPALIVE and the TCP keep-alive timers (004 §5.1, §5.2).

use crate::model::Case;

pub static CASES: &[&Case] = &[];
