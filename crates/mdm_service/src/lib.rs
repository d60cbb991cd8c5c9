//! Use cases and jobs on top of the pure core (`mdm_core`) and the store (`mdm_store`):
//! the nightly reconcile run, reports, exports and steward actions.
