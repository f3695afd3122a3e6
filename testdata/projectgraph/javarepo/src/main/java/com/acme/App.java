package com.acme;

import com.acme.model.Order;
import com.acme.util.*;
import static com.acme.util.Strings.pad;
import java.util.List;

public class App {
    public static void main(String[] args) {
        Order o = new Order("book", 3);
        System.out.println(pad(o.describe(), 20));
    }
}
