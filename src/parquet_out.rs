//! Parquet output: the token rows as columns, for `datasets.load_dataset("parquet", ...)`.
//!
//! | column | Arrow type |
//! |---|---|
//! | `id` | string |
//! | `input_ids` | list<int32> |
//! | `assistant_masks` | list<int8> |
//! | `labels` | list<int32> (-100 off the mask) |
//! | `messages` | string: the JSON text of the `messages` list the JSONL row holds |
//! | `tools` | string: the tool schemas as a JSON string, as in JSONL |
//! | `meta` | string, null when the record had no unknown fields |
//! | `trajkit` | struct<template: string, tokenizer: string, no_loss_turns: list<int32>> |
//!
//! Rows are buffered into a row group of at most [`GROUP_ROWS`] rows or [`GROUP_TOKENS`] tokens,
//! then written, so memory stays bounded however long the input is.

use std::io::Write;
use std::sync::Arc;

use arrow_array::builder::{Int32Builder, Int8Builder, ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch, StructArray};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::emit::Row;
use crate::mask::IGNORE_INDEX;

/// A row group holds at most this many rows …
pub const GROUP_ROWS: usize = 1024;
/// … or this many tokens.
pub const GROUP_TOKENS: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Writes token rows to a Parquet file.
pub struct ParquetRows<W: Write + Send> {
    writer: ArrowWriter<W>,
    schema: SchemaRef,
    group: Group,
}

fn item(data_type: DataType) -> Arc<Field> {
    Arc::new(Field::new("item", data_type, false))
}

fn info_fields() -> Fields {
    Fields::from(vec![
        Field::new("template", DataType::Utf8, false),
        Field::new("tokenizer", DataType::Utf8, true),
        Field::new("no_loss_turns", DataType::List(item(DataType::Int32)), false),
    ])
}

/// The Arrow schema of the file.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("input_ids", DataType::List(item(DataType::Int32)), false),
        Field::new("assistant_masks", DataType::List(item(DataType::Int8)), false),
        Field::new("labels", DataType::List(item(DataType::Int32)), false),
        Field::new("messages", DataType::Utf8, false),
        Field::new("tools", DataType::Utf8, false),
        Field::new("meta", DataType::Utf8, true),
        Field::new("trajkit", DataType::Struct(info_fields()), false),
    ]))
}

/// The columns of the row group being filled.
struct Group {
    rows: usize,
    tokens: usize,
    id: StringBuilder,
    input_ids: ListBuilder<Int32Builder>,
    masks: ListBuilder<Int8Builder>,
    labels: ListBuilder<Int32Builder>,
    messages: StringBuilder,
    tools: StringBuilder,
    meta: StringBuilder,
    template: StringBuilder,
    tokenizer: StringBuilder,
    no_loss: ListBuilder<Int32Builder>,
    /// Reused for each row's values.
    scratch: Vec<i32>,
    scratch8: Vec<i8>,
}

impl Group {
    fn new() -> Group {
        let ints = || ListBuilder::new(Int32Builder::new()).with_field(item(DataType::Int32));
        Group {
            rows: 0,
            tokens: 0,
            id: StringBuilder::new(),
            input_ids: ints(),
            masks: ListBuilder::new(Int8Builder::new()).with_field(item(DataType::Int8)),
            labels: ints(),
            messages: StringBuilder::new(),
            tools: StringBuilder::new(),
            meta: StringBuilder::new(),
            template: StringBuilder::new(),
            tokenizer: StringBuilder::new(),
            no_loss: ints(),
            scratch: Vec::new(),
            scratch8: Vec::new(),
        }
    }

    fn push(&mut self, row: &Row) -> Result<(), ParquetError> {
        self.id.append_value(&row.id);
        self.scratch.clear();
        self.scratch.extend(row.input_ids.iter().map(|&id| id as i32));
        self.input_ids.values().append_slice(&self.scratch);
        self.input_ids.append(true);
        self.scratch8.clear();
        self.scratch8.extend(row.assistant_masks.iter().map(|&m| m as i8));
        self.masks.values().append_slice(&self.scratch8);
        self.masks.append(true);
        self.scratch.clear();
        self.scratch.extend(row.input_ids.iter().zip(&row.assistant_masks).map(|(&id, &m)| {
            if m == 1 {
                id as i32
            } else {
                IGNORE_INDEX as i32
            }
        }));
        self.labels.values().append_slice(&self.scratch);
        self.labels.append(true);
        self.messages.append_value(row.messages_text());
        self.tools.append_value(crate::emit::tools_column(&row.tools));
        match row.meta.is_empty() {
            true => self.meta.append_null(),
            false => self.meta.append_value(serde_json::to_string(&row.meta)?),
        }
        self.template.append_value(&row.info.template);
        self.tokenizer.append_option(row.info.tokenizer.as_deref());
        self.no_loss.values().extend(row.info.no_loss_turns.iter().map(|&t| Some(t as i32)));
        self.no_loss.append(true);
        self.rows += 1;
        self.tokens += row.input_ids.len();
        Ok(())
    }

    fn batch(&mut self, schema: &SchemaRef) -> Result<RecordBatch, ParquetError> {
        let info = StructArray::try_new(
            info_fields(),
            vec![
                Arc::new(self.template.finish()) as ArrayRef,
                Arc::new(self.tokenizer.finish()),
                Arc::new(self.no_loss.finish()),
            ],
            None,
        )?;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.id.finish()),
            Arc::new(self.input_ids.finish()),
            Arc::new(self.masks.finish()),
            Arc::new(self.labels.finish()),
            Arc::new(self.messages.finish()),
            Arc::new(self.tools.finish()),
            Arc::new(self.meta.finish()),
            Arc::new(info),
        ];
        self.rows = 0;
        self.tokens = 0;
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }
}

impl<W: Write + Send> ParquetRows<W> {
    pub fn new(out: W) -> Result<Self, ParquetError> {
        let schema = schema();
        // Snappy, as pyarrow writes by default; no dictionaries or statistics, which token ids and
        // conversation text gain little from and which cost time on every value.
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::None)
            .set_max_row_group_size(GROUP_ROWS)
            .build();
        let writer = ArrowWriter::try_new(out, schema.clone(), Some(properties))?;
        Ok(ParquetRows { writer, schema, group: Group::new() })
    }

    /// Add one row; a full row group is written out.
    pub fn push(&mut self, row: &Row) -> Result<(), ParquetError> {
        self.group.push(row)?;
        if self.group.rows >= GROUP_ROWS || self.group.tokens >= GROUP_TOKENS {
            self.write_group()?;
        }
        Ok(())
    }

    fn write_group(&mut self) -> Result<(), ParquetError> {
        if self.group.rows == 0 {
            return Ok(());
        }
        let batch = self.group.batch(&self.schema)?;
        self.writer.write(&batch)?;
        self.writer.flush()?;
        Ok(())
    }

    /// Write what is left and the footer; returns the output.
    pub fn finish(mut self) -> Result<W, ParquetError> {
        self.write_group()?;
        Ok(self.writer.into_inner()?)
    }
}
