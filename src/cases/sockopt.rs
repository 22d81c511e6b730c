//! Generic SOL_SOCKET behaviour: boolean options, inheritance by accept(), SO_DEBUG, SO_BROADCAST, SO_DONTROUTE (004 §5.1, §5.2).

use crate::model::Case;

pub static CASES: &[&Case] = &[];
