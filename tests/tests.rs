//! The one integration-test binary (modules instead of separate files, so
//! it links once). Every test serves partner sites from an in-process
//! server on 127.0.0.1; nothing reaches the internet.

mod support;

mod access;
mod alerts;
mod article_pages;
mod broken_partners;
mod browser;
mod cli;
mod clients;
mod cms;
mod crash;
mod daemon;
mod date_corpus;
mod faults;
mod feedparser_corpus;
mod feeds;
mod full_text;
mod fuzz_corpus;
mod media;
mod news_pages;
mod package;
mod pages;
mod polling;
mod publishing;
mod query_feeds;
mod serving;
mod sloppy_feeds;
mod stories;
mod wellformed;
