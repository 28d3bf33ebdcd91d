fn main() {
    let sql = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    for d in [&sqlparser::dialect::GenericDialect {} as &dyn sqlparser::dialect::Dialect, &sqlparser::dialect::HiveDialect {}, &sqlparser::dialect::PostgreSqlDialect {}] {
        match sqlparser::parser::Parser::parse_sql(d, &sql) {
            Ok(s) => { println!("{:?}: OK\n{:#?}", d, s); break }
            Err(e) => println!("{:?}: ERR {e}", d),
        }
    }
}
