use acci_core::prelude::*;
use chrono::NaiveDate;

#[event]
pub struct OrderPlaced {
    pub day: NaiveDate,
    pub total: i64,
}

#[event]
pub struct OrderRefunded {
    pub day: NaiveDate,
    pub amount: i64,
}

// No aggregate id makes a `(String, NaiveDate)`: each event must say which row it changes.
#[projection(events(OrderPlaced, OrderRefunded))]
pub struct DailyRevenue {
    #[projection(key)]
    pub tenant: String,
    #[projection(key)]
    pub day: NaiveDate,
    pub revenue: i64,
}

impl ProjectKey<OrderPlaced> for DailyRevenue {
    fn key(event: &Recorded<OrderPlaced>) -> Result<(String, NaiveDate), ProjectionError> {
        Ok((event.stream.tenant.to_string(), event.data.day))
    }
}

impl Project<OrderPlaced> for DailyRevenue {
    fn project(row: &mut Option<Self>, event: &Recorded<OrderPlaced>) {
        row.get_or_insert_with(|| DailyRevenue {
            tenant: event.stream.tenant.to_string(),
            day: event.data.day,
            revenue: 0,
        })
        .revenue += event.data.total;
    }
}

impl Project<OrderRefunded> for DailyRevenue {
    fn project(row: &mut Option<Self>, event: &Recorded<OrderRefunded>) {
        if let Some(row) = row {
            row.revenue -= event.data.amount;
        }
    }
}

fn main() {}
