//! Progress: the one place that turns the sinks' durability frontier into durable facts
//! (Kafka offset commits now; checkpoints later). It never emits data.

pub mod commit;

pub use commit::render_committer;
