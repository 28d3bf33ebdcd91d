//! Planning: SQL statements → a typed logical [`Program`](ir::Program).

pub mod ir;
