//! Tests of `src/transport`: what a broken or hostile server's answers can and cannot do.

mod hostile_server;
