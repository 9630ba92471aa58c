//! An aggregate whose state is an enum, with events from another module and the event
//! enum renamed by `event_enum`; without `snapshot_every` it needs no serde derives.

use acci_core::prelude::*;

mod events {
    use acci_core::prelude::*;

    #[event(name = "OrderPlaced")]
    pub struct Placed {
        pub lines: Vec<String>,
    }

    #[event(name = "OrderShipped")]
    pub struct Shipped {}
}

#[derive(Aggregate, Debug, Default, PartialEq)]
#[aggregate(events(events::Placed, events::Shipped), event_enum = OrderChange)]
pub(crate) enum Order {
    #[default]
    New,
    Placed {
        lines: Vec<String>,
    },
    Shipped,
}

impl Apply<events::Placed> for Order {
    fn apply(&mut self, event: &events::Placed) {
        *self = Order::Placed {
            lines: event.lines.clone(),
        };
    }
}

impl Apply<events::Shipped> for Order {
    fn apply(&mut self, _event: &events::Shipped) {
        *self = Order::Shipped;
    }
}

fn main() {
    assert_eq!(Order::TYPE, "Order");
    assert_eq!(Order::SNAPSHOT_EVERY, 0);
    assert_eq!(OrderChange::EVENT_TYPES, ["OrderPlaced", "OrderShipped"]);

    let placed: OrderChange = events::Placed {
        lines: vec!["tea".into()],
    }
    .into();
    let mut order = Order::default();
    order.apply_event(&placed);
    assert_eq!(
        order,
        Order::Placed {
            lines: vec!["tea".into()]
        }
    );

    let shipped = OrderChange::decode("OrderShipped", 1, serde_json::json!({})).unwrap();
    assert!(matches!(shipped, OrderChange::Shipped(_)));
    order.apply_event(&shipped);
    assert_eq!(order, Order::Shipped);

    let off = order.to_snapshot().unwrap_err();
    assert!(off.to_string().contains("snapshot_every"), "{off}");
}
