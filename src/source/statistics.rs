//! The statistics a source reports for its table's watermark: per epoch and partition that
//! had records, the largest value of the `WATERMARK` expression (see
//! [`crate::render::event_time`], which makes the watermark of them).

use std::collections::BTreeMap;

use crate::data::{Datum, Row};
use crate::timestamp::Time;

/// The `WATERMARK ... AS` expression's value on a decoded row (NULL: none).
pub type WatermarkValue = Box<dyn Fn(&Row) -> Option<i64>>;

/// The statistics one source worker reports per epoch for a table with a watermark: per
/// partition that had records in the epoch, the largest value of the watermark expression.
#[derive(Default)]
pub struct Statistics {
    value: Option<WatermarkValue>,
    /// Per `(time, partition)`: the largest value and the epoch to report it for.
    pending: BTreeMap<(Time, i32), (i64, Time)>,
}

impl Statistics {
    /// Statistics of the watermark expression `value` (none: no window reads the table's
    /// watermark).
    pub fn new(value: Option<WatermarkValue>) -> Self {
        Statistics {
            value,
            pending: BTreeMap::new(),
        }
    }

    /// Whether the table's watermark is read.
    pub fn enabled(&self) -> bool {
        self.value.is_some()
    }

    /// A decoded row of `partition` stamped with epoch `time`.
    pub fn observe(&mut self, partition: i32, time: Time, row: &Row) {
        let Some(value) = &self.value else { return };
        if let Some(w) = value(row) {
            let best = self.pending.entry((time, partition)).or_insert((w, time));
            best.0 = best.0.max(w);
        }
    }

    /// At the end of a bounded input: the watermark passes every record of `partitions`.
    pub fn finish(&mut self, partitions: &[i32], time: Time) {
        if self.value.is_some() {
            for p in partitions {
                self.pending.insert((time, *p), (i64::MAX, time));
            }
        }
    }

    /// At the start of a run: each of `partitions` holds the watermark back until it has
    /// records (or is idle), as in Flink, so a partition read later than the others does not
    /// find its records late. Reported at time 0, as of epoch `epoch` (for the idle timeout).
    /// A restored run's state already holds them.
    pub fn announce(&mut self, partitions: &[i32], epoch: Time) {
        if self.value.is_some() {
            for p in partitions {
                self.pending.insert((0, *p), (i64::MIN, epoch));
            }
        }
    }

    /// The statistics rows `(partition, value, epoch)` of the epochs before `frontier`.
    pub fn drain_before(&mut self, frontier: Time) -> Vec<(Row, Time)> {
        let later = self.pending.split_off(&(frontier, i32::MIN));
        std::mem::replace(&mut self.pending, later)
            .into_iter()
            .map(|((t, p), (w, epoch))| {
                let row = Row::pack([
                    Datum::Int(p.into()),
                    Datum::Int(w),
                    Datum::Int(epoch as i64),
                ]);
                (row, t)
            })
            .collect()
    }
}
