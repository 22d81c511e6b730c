//! IPPROTO_TCP options other than Nagle: TCP_MAXSEG (004 §5.2).

use crate::model::Case;

pub static CASES: &[&Case] = &[];
