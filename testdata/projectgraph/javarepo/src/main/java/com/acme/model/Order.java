package com.acme.model;

/** An order of one item. */
public class Order {
    public static final int MAX_QTY = 99;
    private final String item;
    private final int qty;

    public Order(String item, int qty) {
        this.item = item;
        this.qty = qty;
    }

    /** Describes the order for a receipt. */
    public String describe() {
        return qty + " x " + item;
    }
}
