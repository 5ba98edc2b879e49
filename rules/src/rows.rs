//! The encoding of a block's flow table, written once for both sides: the macro encodes
//! each flow as a row of indices into the block's tables, and the expansion decodes the rows
//! at compile time. A row is `FLOW_ROW_CELLS` little-endian `u32`s (the source's index
//! among the block's ends, the destination's, the port list's), and the rows of a block are
//! one byte string: one token for the whole table instead of a tuple of literals per flow,
//! which at 50,000 flows is most of what rustc would otherwise lex, lower and keep.

/// Cells per row: source end, destination end, port list.
pub const FLOW_ROW_CELLS: usize = 3;

const CELL_BYTES: usize = 4;

/// Appends one row to `rows`.
pub fn push_flow_row(rows: &mut Vec<u8>, cells: [u32; FLOW_ROW_CELLS]) {
    for cell in cells {
        rows.extend_from_slice(&cell.to_le_bytes());
    }
}

/// The `column`th cell of the `row`th row; what the expansion's loop calls.
pub const fn flow_row_cell(rows: &[u8], row: usize, column: usize) -> usize {
    let at = (row * FLOW_ROW_CELLS + column) * CELL_BYTES;
    u32::from_le_bytes([rows[at], rows[at + 1], rows[at + 2], rows[at + 3]]) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_reads_back_as_written() {
        let mut rows = Vec::new();
        push_flow_row(&mut rows, [0, 1, 2]);
        push_flow_row(&mut rows, [70_000, u32::MAX, 255]);
        assert_eq!(rows.len(), 2 * FLOW_ROW_CELLS * CELL_BYTES);
        let cells: Vec<usize> = (0..2)
            .flat_map(|row| (0..FLOW_ROW_CELLS).map(move |column| (row, column)))
            .map(|(row, column)| flow_row_cell(&rows, row, column))
            .collect();
        assert_eq!(cells, [0, 1, 2, 70_000, u32::MAX as usize, 255]);
    }
}
