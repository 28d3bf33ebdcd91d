//! Planning: SQL statements → a typed logical [`Program`](ir::Program).
//! (Temporary stub until the front end lands.)

pub mod explain {
    //! stub
    /// stub
    pub fn explain(_p: &super::ir::Program) -> String {
        String::new()
    }
}
pub mod ir;

/// stub
pub fn plan_file(path: &std::path::Path) -> crate::Result<ir::Program> {
    Err(crate::Error::Config(format!("{} not yet", path.display())))
}
