//! Recurrence expansion to free/busy periods (PLACEHOLDER: being written).
