//! Progress: the one place that turns durability into durable facts: Kafka offset commits
//! after the sinks' durability frontier (or, with checkpoints, after each completed
//! checkpoint). It never emits data.

pub mod commit;

pub use commit::{render_checkpoint_committer, render_committer};
