//! IP multicast across namespaces (004 §5.3).

use crate::model::Case;

pub static CASES: &[&Case] = &[];
