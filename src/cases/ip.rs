//! IPPROTO_IP options: IP_TTL and IPv6 hop limits (004 §5.1).

use crate::model::Case;

pub static CASES: &[&Case] = &[];
